package migrations_test

import (
	"testing"

	"github.com/outboxcdc/outboxcdc/services/order/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestUpDownUp applies the migrations, rolls them back and applies them
// again, checking what each step leaves behind.
func TestUpDownUp(t *testing.T) {
	t.Parallel()
	migrationtest.UpDownUp(t, migrations.FS, migrationtest.Schema{
		Tables:       []string{"idempotency_keys", "inbox", "order_history", "order_items", "orders", "outbox"},
		Publications: map[string][]string{"outbox_publication": {"outbox"}},
	})
}

// TestLibraryTablesMatch guards the copies of the outbox and inbox DDL in
// the init migration against drifting from the libraries that write them.
func TestLibraryTablesMatch(t *testing.T) {
	t.Parallel()
	migrationtest.LibraryTablesMatch(t, migrations.FS)
}
