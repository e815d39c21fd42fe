package servicetest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/testkit/internal/failures"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// startCart is the Start of a service with no API and a handler that does
// nothing.
func startCart(ctx context.Context, cfg service.Config, log *slog.Logger) (*service.Service, error) {
	migrations := fstest.MapFS{"000001_init.up.sql": {Data: []byte(inbox.Schema)}, "000001_init.down.sql": {Data: []byte("DROP TABLE inbox")}}
	pool, err := service.Open(ctx, "cart", cfg, migrations, log)
	if err != nil {
		return nil, err
	}
	cc := cfg.Consumer(pool, log)
	cc.Topics = []string{"outbox.event.cart"}
	cc.Handler = func(context.Context, pgx.Tx, consumer.Event) error { return nil }
	cons, err := consumer.New(cc)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return service.Serve(ctx, "cart", cfg, service.Parts{Pool: pool, Consumer: cons, HTTP: service.HTTP(cfg, pool, cons, log)}, log)
}

func healthz(t *testing.T, addr string) error {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func TestStart(t *testing.T) {
	cfg := service.Config{HTTPAddr: "127.0.0.1:0", DatabaseURL: pgtest.NewDatabase(t), Brokers: []string{kafkatest.Start(t)}, Group: "g"}
	var addr string
	t.Run("runs for the test", func(t *testing.T) {
		s := Start(t, startCart, cfg, slog.New(slog.DiscardHandler))
		addr = s.Addr()
		if err := healthz(t, addr); err != nil {
			t.Fatalf("healthz: %v", err)
		}
	})
	if err := healthz(t, addr); err == nil {
		t.Fatal("the service still answers after its test ended")
	}
	got := failures.Of(t, func(tb testing.TB) {
		Start(tb, func(context.Context, service.Config, *slog.Logger) (*service.Service, error) {
			return nil, errors.New("no database")
		}, cfg, slog.New(slog.DiscardHandler))
	})
	if !strings.Contains(got, "start: no database") {
		t.Fatalf("a failed start reported %q", got)
	}
}
