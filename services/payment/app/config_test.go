package app_test

import (
	"strings"
	"testing"

	"github.com/outboxcdc/outboxcdc/services/payment/app"
)

// The variables and their checks are service.ConfigFromEnv's, tested
// there; this service contributes its defaults and its name.
func TestConfigFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	cfg, err := app.ConfigFromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:8081" || cfg.Group != "payment-service" || len(cfg.Brokers) != 1 || cfg.Brokers[0] != "127.0.0.1:9092" ||
		!strings.Contains(cfg.DatabaseURL, "payment_service@127.0.0.1:5432/payments") || !cfg.OutboxDeleteAfterInsert {
		t.Fatalf("defaults = %+v", cfg)
	}
	_, err = app.ConfigFromEnv(env(map[string]string{"DATABASE_URL": "postgres://u:secret@h/db\x7f", "DATABASE_WAIT": "soon"}))
	if err == nil || !strings.HasPrefix(err.Error(), "payment config: ") || !strings.Contains(err.Error(), "DATABASE_WAIT") ||
		strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v, want a payment config error naming DATABASE_WAIT without the password", err)
	}
}
