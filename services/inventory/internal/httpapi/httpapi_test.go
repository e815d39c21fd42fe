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
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/inventory/migrations"
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
	log := slog.New(slog.DiscardHandler)
	url := apitest.Server(t, httpserver.Config{
		BodyLimit: "64K", Logger: log,
		Ready: []httpserver.Check{{Name: "database", Check: pool.Ping}},
	}, func(e *echo.Echo) { httpapi.Register(e, repo, log) })
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

func TestPutAndGetStock(t *testing.T) {
	f := setup(t)
	status, body := f.do(t, http.MethodPut, "/stock/BOOK-1", `{"available": 5}`)
	want := map[string]any{"sku": "BOOK-1", "available": float64(5), "reserved": float64(0)}
	if status != http.StatusOK || len(body) != 3 || body["sku"] != want["sku"] || body["available"] != want["available"] || body["reserved"] != want["reserved"] {
		t.Fatalf("PUT = %d %v, want %v", status, body, want)
	}
	if status, body = f.do(t, http.MethodPut, "/stock/BOOK-1", `{"available": 0}`); status != http.StatusOK || body["available"] != float64(0) {
		t.Fatalf("second PUT = %d %v", status, body)
	}
	if status, body = f.do(t, http.MethodGet, "/stock/BOOK-1", ""); status != http.StatusOK || body["available"] != float64(0) || body["reserved"] != float64(0) {
		t.Fatalf("GET = %d %v", status, body)
	}
	if status, body = f.do(t, http.MethodPut, "/stock/BOOK%202", `{"available": 1}`); status != http.StatusOK || body["sku"] != "BOOK 2" {
		t.Fatalf("PUT of an escaped SKU = %d %v", status, body)
	}
	if status, body = f.do(t, http.MethodGet, "/stock/BOOK%202", ""); status != http.StatusOK || body["sku"] != "BOOK 2" {
		t.Fatalf("GET of an escaped SKU = %d %v", status, body)
	}
	status, body = f.do(t, http.MethodGet, "/stock/UNKNOWN", "")
	if code, _ := apitest.ErrorOf(t, body); status != http.StatusNotFound || code != "not_found" {
		t.Fatalf("GET unknown = %d %v", status, body)
	}
	if n := f.count(t, `SELECT count(*) FROM stock`); n != 2 {
		t.Fatalf("stock rows = %d, want 2", n)
	}
}

func TestPutStockRejectsBadInput(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		name       string
		sku        string
		body       string
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{"malformed JSON", "A", `{"available": `, 400, "malformed_json", nil},
		{"empty body", "A", ``, 400, "malformed_json", nil},
		{"string count", "A", `{"available": "5"}`, 400, "wrong_type", []string{"available"}},
		{"fractional count", "A", `{"available": 2.5}`, 400, "wrong_type", []string{"available"}},
		{"unknown field", "A", `{"available": 1, "reserved": 2}`, 400, "unknown_field", nil},
		{"missing count", "A", `{}`, 422, "validation_failed", []string{"available"}},
		{"negative count", "A", `{"available": -1}`, 422, "validation_failed", []string{"available"}},
		{"count too large", "A", `{"available": 1000000001}`, 422, "validation_failed", []string{"available"}},
		{"sku too long", strings.Repeat("S", 65), `{"available": 1}`, 422, "validation_failed", []string{"sku"}},
		{"oversize body", "A", `{"available": 1, "pad": "` + strings.Repeat("x", 70<<10) + `"}`, 413, "payload_too_large", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodPut, "/stock/"+tc.sku, tc.body)
			code, fields := apitest.ErrorOf(t, body)
			if status != tc.wantStatus || code != tc.wantCode {
				t.Fatalf("= %d %s, want %d %s (%v)", status, code, tc.wantStatus, tc.wantCode, body)
			}
			if strings.Join(fields, ",") != strings.Join(tc.wantFields, ",") {
				t.Fatalf("fields = %v, want %v", fields, tc.wantFields)
			}
			if n := f.count(t, `SELECT count(*) FROM stock`); n != 0 {
				t.Fatalf("stock rows = %d after a rejected request, want 0", n)
			}
		})
	}
}

func TestListReservations(t *testing.T) {
	f := setup(t)
	const orderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"
	for _, q := range []string{"", "?orderId=", "?orderId=nope"} {
		status, body := f.do(t, http.MethodGet, "/reservations"+q, "")
		if code, fields := apitest.ErrorOf(t, body); status != 422 || code != "validation_failed" || len(fields) != 1 || fields[0] != "orderId" {
			t.Fatalf("GET /reservations%s = %d %v", q, status, body)
		}
	}
	status, body := f.do(t, http.MethodGet, "/reservations?orderId="+orderID, "")
	if list, ok := body["reservations"].([]any); status != http.StatusOK || !ok || len(list) != 0 {
		t.Fatalf("unknown order = %d %v, want an empty list", status, body)
	}
	res, err := inventory.Reserve(orderID, []inventory.Line{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error { return f.repo.Stockroom(tx).SaveReservation(t.Context(), res) }); err != nil {
		t.Fatal(err)
	}
	status, body = f.do(t, http.MethodGet, "/reservations?orderId="+orderID, "")
	list, _ := body["reservations"].([]any)
	if status != http.StatusOK || len(list) != 2 {
		t.Fatalf("reservations = %d %v", status, body)
	}
	first := list[0].(map[string]any)
	if first["sku"] != "A" || first["quantity"] != float64(2) || first["status"] != "REJECTED" || first["orderId"] != orderID {
		t.Fatalf("first line = %v", first)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	f := setup(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := f.do(t, http.MethodGet, path, ""); status != http.StatusOK {
			t.Fatalf("%s = %d %v", path, status, body)
		}
	}
}
