package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/payment/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/apitest"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
)

// fuzzOrderID names the order whose payment fuzzServer stores, so GET
// /payments has one to list.
const fuzzOrderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"

// FuzzAPI sends arbitrary requests (method, request target, content type,
// body) to the real handlers on the shared middleware and error handler,
// over a real database: no request may get a 5xx or a panic (the recovery
// middleware would turn one into a 500), every 4xx is the JSON error shape
// with a code, and every 2xx is JSON. go test runs the seeds; go test
// -run='^$' -fuzz=FuzzAPI explores.
func FuzzAPI(f *testing.F) {
	// Seeds stay small: the fuzzer minimises every input it keeps, in time
	// quadratic in its size, so inputs grown from a seed of many kilobytes
	// stall a worker for up to -fuzzminimizetime. Bodies over the limit
	// (413) are left to the table tests.
	for _, s := range []struct {
		method      uint8
		target      string
		contentType uint8
		body        string
	}{
		// Every route, answered as it should.
		{apitest.FuzzPUT, "/accounts/cust-7", 0, `{"balanceCents":5000}`},
		{apitest.FuzzPUT, "/accounts/cust-7", 2, `{"balanceCents":0,"currency":"USD"}`},
		{apitest.FuzzGET, "/accounts/cust-7", 1, ""},
		{apitest.FuzzGET, "/accounts/cust-42", 1, ""},
		{apitest.FuzzGET, "/accounts/nobody", 1, ""},
		{apitest.FuzzGET, "/payments?orderId=" + fuzzOrderID, 1, ""},
		{apitest.FuzzGET, "/payments?orderId=0193b6f2-8a02-7c11-b5e3-2d9a71f04c85&limit=10&cursor=abc", 1, ""},
		{apitest.FuzzGET, "/healthz", 1, ""},
		{apitest.FuzzGET, "/readyz", 1, ""},
		// Odd ids and queries.
		{apitest.FuzzPUT, "/accounts/caf%C3%A9%20au%20lait", 0, `{"balanceCents":1}`},
		{apitest.FuzzPUT, "/accounts/a%2Fb", 0, `{"balanceCents":1}`},
		{apitest.FuzzGET, "/accounts/a%2Fb", 1, ""},
		{apitest.FuzzPUT, "/accounts/%00", 0, `{"balanceCents":1}`},
		{apitest.FuzzGET, "/accounts/%00", 1, ""},
		{apitest.FuzzPUT, "/accounts/%2F", 0, `{"balanceCents":1}`},
		{apitest.FuzzPUT, "/accounts/%FF%FE", 0, `{"balanceCents":1}`},
		{apitest.FuzzGET, "/accounts/%FF%FE", 1, ""},
		{apitest.FuzzGET, "/accounts/%E2%82", 1, ""},
		{apitest.FuzzPUT, "/accounts/%20", 0, `{"balanceCents":1}`},
		{apitest.FuzzPUT, "/accounts/", 0, `{"balanceCents":1}`},
		{apitest.FuzzPUT, "/accounts/" + strings.Repeat("x", 101), 0, `{"balanceCents":1}`},
		{apitest.FuzzGET, "/accounts/" + strings.Repeat("x", 200), 1, ""},
		{apitest.FuzzGET, "/payments", 1, ""},
		{apitest.FuzzGET, "/payments?orderId=", 1, ""},
		{apitest.FuzzGET, "/payments?orderId=42", 1, ""},
		{apitest.FuzzGET, "/payments?orderId=%00", 1, ""},
		{apitest.FuzzGET, "/payments?orderId={" + fuzzOrderID + "}", 1, ""},
		{apitest.FuzzGET, "/payments?orderId=" + strings.ToUpper(fuzzOrderID) + "&orderId=x", 1, ""},
		{apitest.FuzzGET, "/payments?orderId=%zz;x", 1, ""},
		{apitest.FuzzGET, "//accounts/../accounts/cust-42#x", 1, ""},
		{apitest.FuzzGET, "http://elsewhere.test/accounts/cust-42", 1, ""},
		{apitest.FuzzGET, "*", 1, ""},
		// Other methods.
		{apitest.FuzzPOST, "/accounts/cust-7", 0, `{"balanceCents":1}`},
		{apitest.FuzzDELETE, "/accounts/cust-7", 1, ""},
		{apitest.FuzzPATCH, "/payments", 0, "{}"},
		{apitest.FuzzHEAD, "/accounts/cust-42", 1, ""},
		{apitest.FuzzOPTIONS, "/accounts/cust-42", 1, ""},
		// Bodies that are not the expected JSON.
		{apitest.FuzzPUT, "/accounts/c1", 1, ""},
		{apitest.FuzzPUT, "/accounts/c1", 0, "null"},
		{apitest.FuzzPUT, "/accounts/c1", 0, "[1]"},
		{apitest.FuzzPUT, "/accounts/c1", 0, "{}"},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents": `},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1} {}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1}garbage`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1,"colour":"blue"}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":"10","currency":978}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":null}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, strings.Repeat(`{"balanceCents":`, 40)},
		{apitest.FuzzPUT, "/accounts/c1", 0, strings.Repeat("[", 300) + strings.Repeat("]", 300)},
		{apitest.FuzzPUT, "/accounts/c1", 3, `{"balanceCents":1}`},
		{apitest.FuzzPUT, "/accounts/c1", 4, "balanceCents=1"},
		// Values out of range.
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":-1}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1.5}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1e2}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1e309}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":9223372036854775807}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":9223372036854775808}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":-9223372036854775808}`},
		// Strings PostgreSQL or the JSON decoder may choke on.
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1,"currency":"E\u0000R"}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1,"currency":"\u0000\u0000\u0000"}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, "{\"balanceCents\":1,\"currency\":\"\xff\"}"},
		{apitest.FuzzPUT, "/accounts/c1", 0, `{"balanceCents":1,"currency":"\ud800"}`},
		{apitest.FuzzPUT, "/accounts/c1", 0, "\xef\xbb\xbf{\"balanceCents\":1}"},
		{apitest.FuzzPUT, "/accounts/c1", 0, "\xff\xfe"},
	} {
		f.Add(s.method, s.target, s.contentType, []byte(s.body))
	}

	e, logs := fuzzServer(f)
	f.Fuzz(func(t *testing.T, method uint8, target string, contentType uint8, body []byte) {
		apitest.FuzzServe(t, e, logs, method, target, contentType, http.Header{}, body)
	})
}

// fuzzServer is setup for FuzzAPI: the same adapter over a fresh migrated
// database made once for all inputs, holding the account cust-42 and a
// payment of fuzzOrderID, served in process; its log keeps warnings and
// errors for failure messages.
func fuzzServer(f *testing.F) (*echo.Echo, *apitest.Log) {
	f.Helper()
	pool := migrationtest.Pool(f, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	now := time.Now()
	acct, err := payment.NewAccount("cust-42", "EUR", 100, now)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := repo.PutAccount(f.Context(), acct); err != nil {
		f.Fatal(err)
	}
	p, err := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: fuzzOrderID, CustomerID: "cust-42", Currency: "EUR", TotalCents: 60}, acct, now)
	if err != nil {
		f.Fatal(err)
	}
	if err := pgx.BeginFunc(f.Context(), pool, func(tx pgx.Tx) error { return repo.Ledger(tx).SavePayment(f.Context(), p, nil) }); err != nil {
		f.Fatal(err)
	}
	logs := &apitest.Log{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := httpserver.New(httpserver.Config{
		BodyLimit: "64K", Logger: log,
		Ready: []httpserver.Check{{Name: "database", Check: pool.Ping}},
	})
	httpapi.Register(e, repo, log)
	return e, logs
}
