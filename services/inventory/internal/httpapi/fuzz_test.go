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
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/inventory/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/apitest"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
)

// fuzzOrderID names the order whose reservation fuzzServer stores, so GET
// /reservations has one to list.
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
		{apitest.FuzzPUT, "/stock/BOOK-7", 0, `{"available":5}`},
		{apitest.FuzzPUT, "/stock/BOOK-7", 2, `{"available":0}`},
		{apitest.FuzzGET, "/stock/BOOK-7", 1, ""},
		{apitest.FuzzGET, "/stock/BOOK-1", 1, ""},
		{apitest.FuzzGET, "/stock/UNKNOWN", 1, ""},
		{apitest.FuzzGET, "/reservations?orderId=" + fuzzOrderID, 1, ""},
		{apitest.FuzzGET, "/reservations?orderId=0193b6f2-8a02-7c11-b5e3-2d9a71f04c85&limit=10&cursor=abc", 1, ""},
		{apitest.FuzzGET, "/healthz", 1, ""},
		{apitest.FuzzGET, "/readyz", 1, ""},
		// Odd ids and queries.
		{apitest.FuzzPUT, "/stock/BOOK%202", 0, `{"available":1}`},
		{apitest.FuzzPUT, "/stock/a%2Fb", 0, `{"available":1}`},
		{apitest.FuzzGET, "/stock/a%2Fb", 1, ""},
		{apitest.FuzzPUT, "/stock/%00", 0, `{"available":1}`},
		{apitest.FuzzGET, "/stock/%00", 1, ""},
		{apitest.FuzzPUT, "/stock/%2F", 0, `{"available":1}`},
		{apitest.FuzzPUT, "/stock/%FF%FE", 0, `{"available":1}`},
		{apitest.FuzzGET, "/stock/%FF%FE", 1, ""},
		{apitest.FuzzGET, "/stock/%E2%82", 1, ""},
		{apitest.FuzzPUT, "/stock/%20", 0, `{"available":1}`},
		{apitest.FuzzPUT, "/stock/", 0, `{"available":1}`},
		{apitest.FuzzPUT, "/stock/" + strings.Repeat("S", 65), 0, `{"available":1}`},
		{apitest.FuzzGET, "/stock/" + strings.Repeat("S", 200), 1, ""},
		{apitest.FuzzGET, "/reservations", 1, ""},
		{apitest.FuzzGET, "/reservations?orderId=", 1, ""},
		{apitest.FuzzGET, "/reservations?orderId=nope", 1, ""},
		{apitest.FuzzGET, "/reservations?orderId=%00", 1, ""},
		{apitest.FuzzGET, "/reservations?orderId={" + fuzzOrderID + "}", 1, ""},
		{apitest.FuzzGET, "/reservations?orderId=" + strings.ToUpper(fuzzOrderID) + "&orderId=x", 1, ""},
		{apitest.FuzzGET, "/reservations?orderId=%zz;x", 1, ""},
		{apitest.FuzzGET, "//stock/../stock/BOOK-1#x", 1, ""},
		{apitest.FuzzGET, "http://elsewhere.test/stock/BOOK-1", 1, ""},
		{apitest.FuzzGET, "*", 1, ""},
		// Other methods.
		{apitest.FuzzPOST, "/stock/BOOK-7", 0, `{"available":1}`},
		{apitest.FuzzDELETE, "/stock/BOOK-7", 1, ""},
		{apitest.FuzzPATCH, "/reservations", 0, "{}"},
		{apitest.FuzzHEAD, "/stock/BOOK-1", 1, ""},
		{apitest.FuzzOPTIONS, "/stock/BOOK-1", 1, ""},
		// Bodies that are not the expected JSON.
		{apitest.FuzzPUT, "/stock/A", 1, ""},
		{apitest.FuzzPUT, "/stock/A", 0, "null"},
		{apitest.FuzzPUT, "/stock/A", 0, "[1]"},
		{apitest.FuzzPUT, "/stock/A", 0, "{}"},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available": `},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":1} {}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":1}garbage`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":1,"reserved":2}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":"5"}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":null}`},
		{apitest.FuzzPUT, "/stock/A", 0, strings.Repeat(`{"available":`, 40)},
		{apitest.FuzzPUT, "/stock/A", 0, strings.Repeat("[", 300) + strings.Repeat("]", 300)},
		{apitest.FuzzPUT, "/stock/A", 3, `{"available":1}`},
		{apitest.FuzzPUT, "/stock/A", 4, "available=1"},
		// Values out of range.
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":-1}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":2.5}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":1e2}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":1e309}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":1000000001}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":9223372036854775807}`},
		{apitest.FuzzPUT, "/stock/A", 0, `{"available":9223372036854775808}`},
		// Encodings the JSON decoder may choke on.
		{apitest.FuzzPUT, "/stock/A", 0, "{\"available\":1,\"\xff\":\"\\ud800\"}"},
		{apitest.FuzzPUT, "/stock/A", 0, "\xef\xbb\xbf{\"available\":1}"},
		{apitest.FuzzPUT, "/stock/A", 0, "\xff\xfe"},
	} {
		f.Add(s.method, s.target, s.contentType, []byte(s.body))
	}

	e, logs := fuzzServer(f)
	f.Fuzz(func(t *testing.T, method uint8, target string, contentType uint8, body []byte) {
		apitest.FuzzServe(t, e, logs, method, target, contentType, http.Header{}, body)
	})
}

// fuzzServer is setup for FuzzAPI: the same adapter over a fresh migrated
// database made once for all inputs, holding the stock of BOOK-1 and a
// reservation of fuzzOrderID, served in process; its log keeps warnings and
// errors for failure messages.
func fuzzServer(f *testing.F) (*echo.Echo, *apitest.Log) {
	f.Helper()
	pool := migrationtest.Pool(f, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	now := time.Now()
	s, err := inventory.NewStock("BOOK-1", 5, now)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := repo.PutStock(f.Context(), s); err != nil {
		f.Fatal(err)
	}
	res, err := inventory.Reserve(fuzzOrderID, []inventory.Line{{SKU: "BOOK-1", Quantity: 2}}, map[string]*inventory.Stock{"BOOK-1": s}, now)
	if err != nil {
		f.Fatal(err)
	}
	if err := pgx.BeginFunc(f.Context(), pool, func(tx pgx.Tx) error { return repo.Stockroom(tx).SaveReservation(f.Context(), res) }); err != nil {
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
