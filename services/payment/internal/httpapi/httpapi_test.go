package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/payment/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/apitest"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	pool *pgxpool.Pool
	repo *postgres.Repository
	url  string
}

func setup(t *testing.T) fixture {
	t.Helper()
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	url := apitest.Server(t, httpserver.Config{
		BodyLimit: "64K", Logger: slog.New(slog.DiscardHandler),
		Ready: []httpserver.Check{{Name: "database", Check: pool.Ping}},
	}, func(e *echo.Echo) { httpapi.Register(e, repo, slog.New(slog.DiscardHandler)) })
	return fixture{pool: pool, repo: repo, url: url}
}

func (f fixture) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return apitest.Call(t, method, f.url+path, body)
}

func (f fixture) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPutAndGetAccount(t *testing.T) {
	f := setup(t)
	status, body := f.do(t, http.MethodPut, "/accounts/cust-42", `{"balanceCents": 5000}`)
	if status != http.StatusOK || body["customerId"] != "cust-42" || body["balanceCents"] != float64(5000) || body["currency"] != "EUR" {
		t.Fatalf("PUT = %d %v; want EUR when no currency is given", status, body)
	}
	created := body["createdAt"]
	status, body = f.do(t, http.MethodPut, "/accounts/cust-42", `{"balanceCents": 0, "currency": "USD"}`)
	if status != http.StatusOK || body["balanceCents"] != float64(0) || body["currency"] != "USD" || body["createdAt"] != created {
		t.Fatalf("second PUT = %d %v; want balance 0 and createdAt %v kept", status, body, created)
	}
	status, body = f.do(t, http.MethodGet, "/accounts/cust-42", "")
	if status != http.StatusOK || body["balanceCents"] != float64(0) || body["currency"] != "USD" {
		t.Fatalf("GET = %d %v", status, body)
	}
	if _, err := time.Parse(time.RFC3339Nano, body["updatedAt"].(string)); err != nil {
		t.Fatalf("updatedAt: %v", err)
	}
	status, body = f.do(t, http.MethodGet, "/accounts/nobody", "")
	if code, _ := apitest.ErrorOf(t, body); status != http.StatusNotFound || code != "not_found" {
		t.Fatalf("GET unknown = %d %v", status, body)
	}
	if n := f.count(t, `SELECT count(*) FROM accounts`); n != 1 {
		t.Fatalf("accounts = %d, want 1", n)
	}
}

func TestPutAccountRejectsBadInput(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		name       string
		customer   string
		body       string
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{"malformed JSON", "c1", `{"balanceCents": `, 400, "malformed_json", nil},
		{"not an object", "c1", `[1]`, 400, "wrong_type", []string{"(body)"}},
		{"empty body", "c1", ``, 400, "malformed_json", nil},
		{"string balance", "c1", `{"balanceCents": "10"}`, 400, "wrong_type", []string{"balanceCents"}},
		{"fractional balance", "c1", `{"balanceCents": 1.5}`, 400, "wrong_type", []string{"balanceCents"}},
		{"unknown field", "c1", `{"balanceCents": 1, "colour": "blue"}`, 400, "unknown_field", nil},
		{"lower-case currency", "c1", `{"balanceCents": 1, "currency": "eur"}`, 422, "validation_failed", []string{"currency"}},
		{"currency not three letters", "c1", `{"balanceCents": 1, "currency": "EURO"}`, 422, "validation_failed", []string{"currency"}},
		{"two values", "c1", `{"balanceCents": 1} {}`, 400, "malformed_json", nil},
		{"missing balance", "c1", `{}`, 422, "validation_failed", []string{"balanceCents"}},
		{"null balance", "c1", `{"balanceCents": null}`, 422, "validation_failed", []string{"balanceCents"}},
		{"negative balance", "c1", `{"balanceCents": -1}`, 422, "validation_failed", []string{"balanceCents"}},
		{"customer id too long", strings.Repeat("x", 101), `{"balanceCents": 1}`, 422, "validation_failed", []string{"customerId"}},
		{"oversize body", "c1", `{"balanceCents": 1, "pad": "` + strings.Repeat("x", 70<<10) + `"}`, 413, "payload_too_large", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodPut, "/accounts/"+tc.customer, tc.body)
			code, fields := apitest.ErrorOf(t, body)
			if status != tc.wantStatus || code != tc.wantCode {
				t.Fatalf("= %d %s, want %d %s (%v)", status, code, tc.wantStatus, tc.wantCode, body)
			}
			if strings.Join(fields, ",") != strings.Join(tc.wantFields, ",") {
				t.Fatalf("fields = %v, want %v", fields, tc.wantFields)
			}
			if n := f.count(t, `SELECT count(*) FROM accounts`); n != 0 {
				t.Fatalf("accounts = %d after a rejected request, want 0", n)
			}
		})
	}
}

func TestListPayments(t *testing.T) {
	f := setup(t)
	const orderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"
	for _, tc := range []struct {
		name, query string
		wantStatus  int
	}{
		{"missing orderId", "", 422},
		{"empty orderId", "?orderId=", 422},
		{"orderId not a UUID", "?orderId=42", 422},
		{"orderId in braces", "?orderId={" + orderID + "}", 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, "/payments"+tc.query, "")
			code, fields := apitest.ErrorOf(t, body)
			if status != tc.wantStatus || code != "validation_failed" || len(fields) != 1 || fields[0] != "orderId" {
				t.Fatalf("= %d %v", status, body)
			}
		})
	}

	status, body := f.do(t, http.MethodGet, "/payments?orderId="+orderID, "")
	if list, ok := body["payments"].([]any); status != http.StatusOK || !ok || len(list) != 0 {
		t.Fatalf("payments of an unknown order = %d %v, want an empty list", status, body)
	}

	now := time.Now().UTC().Truncate(time.Microsecond)
	acct := &payment.Account{CustomerID: "cust-42", Currency: "EUR", BalanceCents: 100}
	p, err := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: orderID, CustomerID: "cust-42", Currency: "EUR", TotalCents: 60}, acct, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error { return f.repo.Ledger(tx).SavePayment(t.Context(), p, nil) }); err != nil {
		t.Fatal(err)
	}
	status, body = f.do(t, http.MethodGet, "/payments?orderId="+orderID, "")
	list, _ := body["payments"].([]any)
	if status != http.StatusOK || len(list) != 1 {
		t.Fatalf("payments = %d %v, want one", status, body)
	}
	got := list[0].(map[string]any)
	want := map[string]any{"id": p.ID, "orderId": orderID, "customerId": "cust-42", "amountCents": float64(60), "currency": "EUR", "status": "CAPTURED"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("payment[%s] = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["reason"]; ok {
		t.Errorf("captured payment has a reason: %v", got)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	f := setup(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := f.do(t, http.MethodGet, path, ""); status != http.StatusOK {
			t.Fatalf("%s = %d %v", path, status, body)
		}
	}
	status, body := f.do(t, http.MethodGet, "/nowhere", "")
	if code, _ := apitest.ErrorOf(t, body); status != http.StatusNotFound || code != "not_found" {
		t.Fatalf("unknown route = %d %v", status, body)
	}
}
