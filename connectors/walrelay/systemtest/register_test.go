package systemtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// TestRegisterWaitsForTheSlot: scripts/register-connector.sh reports a
// connector RUNNING only once its replication slot exists, so a row
// committed after it said so is captured. While a session holds a
// transaction open, PostgreSQL cannot create the slot: the script times
// out and says where to look.
func TestRegisterWaitsForTheSlot(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := connectDB(t, dsn)
	mustExec(t, db, outbox.Schema)
	brokers := kafkatest.Start(t)
	url := startWorker(t, brokers, nil)
	raw, err := json.Marshal(outboxConfig(t, dsn, "waits"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "waits.json")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	register := func(timeout string) (string, error) {
		cmd := exec.Command("bash", "scripts/register-connector.sh", "--url", url, "--timeout", timeout, file)
		cmd.Dir = "../../.."
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	release := pgtest.HoldTransactionID(t, dsn)
	out, err := register("3")
	if err == nil || !strings.Contains(out, "waits: not RUNNING within 3s") || !strings.Contains(out, "idle in transaction") {
		t.Fatalf("register while a transaction holds up the slot: %v\n%s", err, out)
	}
	release()
	if out, err := register("60"); err != nil || !strings.Contains(out, "waits: RUNNING") {
		t.Fatalf("register once the transaction ended: %v\n%s", err, out)
	}
	mustExec(t, db, `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'order', 'right-after', 'OrderCreated', '{}')`)
	recs := kafkatest.Consume(t, brokers, "outbox.event.order", 1, 30*time.Second)
	if string(recs[0].Key) != "right-after" {
		t.Fatalf("first record has key %q, want right-after", recs[0].Key)
	}
}
