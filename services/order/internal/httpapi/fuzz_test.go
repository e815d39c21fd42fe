package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/services/order/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
	"github.com/outboxcdc/outboxcdc/services/order/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/apitest"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
)

// fuzzOrderID names the order fuzzServer stores, so GET /orders/{id} has
// one to find.
const fuzzOrderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"

// FuzzAPI sends arbitrary requests (method, request target, content type,
// Idempotency-Key, body) to the real handlers on the shared middleware and
// error handler, over a real database: no request may get a 5xx or a panic
// (the recovery middleware would turn one into a 500), every 4xx is the JSON
// error shape with a code, and every 2xx is JSON. go test runs the seeds;
// go test -run='^$' -fuzz=FuzzAPI explores.
func FuzzAPI(f *testing.F) {
	item := `{"sku":"S","quantity":1,"unitPriceCents":1}`
	withItems := func(items string) string { return `{"customerId":"c","currency":"EUR","items":[` + items + `]}` }
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	// Seeds stay small: the fuzzer minimises every input it keeps, in time
	// quadratic in its size, so inputs grown from a seed of many kilobytes
	// stall a worker for up to -fuzzminimizetime. Bodies over the limit
	// (413) are left to the table tests.
	for _, s := range []struct {
		method      uint8
		target      string
		contentType uint8
		key         string
		body        string
	}{
		// Every route, answered as it should.
		{apitest.FuzzPOST, "/orders", 0, "", ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 0, "checkout-7f3a", ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 2, "checkout-7f3a", ordertest.SampleOrder}, // replay
		{apitest.FuzzPOST, "/orders", 0, "checkout-7f3a", withItems(item)},       // reuse: 409
		{apitest.FuzzGET, "/orders/" + fuzzOrderID, 1, "", ""},
		{apitest.FuzzGET, "/orders/" + strings.ToUpper(fuzzOrderID), 1, "", ""},
		{apitest.FuzzGET, "/orders", 1, "", ""},
		{apitest.FuzzGET, "/orders?customerId=cust-42&status=PENDING&limit=500", 1, "", ""},
		{apitest.FuzzGET, "/orders?limit=1&cursor=abc", 1, "", ""},
		{apitest.FuzzGET, "/healthz", 1, "", ""},
		{apitest.FuzzGET, "/readyz", 1, "", ""},
		// Odd ids and queries.
		{apitest.FuzzGET, "/orders/%00", 1, "", ""},
		{apitest.FuzzGET, "/orders/a%2Fb", 1, "", ""},
		{apitest.FuzzGET, "/orders/%2F", 1, "", ""},
		{apitest.FuzzGET, "/orders/%FF%FE", 1, "", ""},
		{apitest.FuzzGET, "/orders/{" + fuzzOrderID + "}", 1, "", ""},
		{apitest.FuzzGET, "/orders/", 1, "", ""},
		{apitest.FuzzGET, "/orders?customerId=%00", 1, "", ""},
		{apitest.FuzzGET, "/orders?customerId=%FF", 1, "", ""},
		{apitest.FuzzGET, "/orders?status=pending&limit=0", 1, "", ""},
		{apitest.FuzzGET, "/orders?limit=-1", 1, "", ""},
		{apitest.FuzzGET, "/orders?limit=99999999999999999999999", 1, "", ""},
		{apitest.FuzzGET, "/orders?limit=%zz&status", 1, "", ""},
		{apitest.FuzzGET, "//orders/../orders#x", 1, "", ""},
		{apitest.FuzzGET, "http://elsewhere.test/orders?limit=2", 1, "", ""},
		{apitest.FuzzGET, "*", 1, "", ""},
		{apitest.FuzzGET, "/" + strings.Repeat("a", 200), 1, "", ""},
		// Other methods.
		{apitest.FuzzDELETE, "/orders/" + fuzzOrderID, 1, "", ""},
		{apitest.FuzzPUT, "/orders", 0, "", ordertest.SampleOrder},
		{apitest.FuzzPATCH, "/orders/x", 0, "", "{}"},
		{apitest.FuzzHEAD, "/orders", 1, "", ""},
		{apitest.FuzzOPTIONS, "/orders", 1, "", ""},
		// Bodies that are not the expected JSON.
		{apitest.FuzzPOST, "/orders", 1, "", ""},
		{apitest.FuzzPOST, "/orders", 0, "", "   "},
		{apitest.FuzzPOST, "/orders", 0, "", "null"},
		{apitest.FuzzPOST, "/orders", 0, "", "[]"},
		{apitest.FuzzPOST, "/orders", 0, "", "{}"},
		{apitest.FuzzPOST, "/orders", 0, "", `{"customerId":`},
		{apitest.FuzzPOST, "/orders", 0, "", ordertest.SampleOrder + "garbage"},
		{apitest.FuzzPOST, "/orders", 0, "", ordertest.SampleOrder + ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 0, "", `{"customerId":"c","currency":"EUR","items":[` + item + `],"coupon":"X"}`},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":1,"unitPriceCents":1,"color":"red"}`)},
		{apitest.FuzzPOST, "/orders", 0, "", `{"customerId":5,"currency":["EUR"],"items":{}}`},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":1,"quantity":"2","unitPriceCents":true}`)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`null,[],"x",{}`)},
		{apitest.FuzzPOST, "/orders", 0, "", strings.Repeat(`{"items":[`, 50)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(deep)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(deep[:400])},
		{apitest.FuzzPOST, "/orders", 3, "", "customerId=c&currency=EUR"},
		{apitest.FuzzPOST, "/orders", 4, "", "customerId=c&currency=EUR"},
		// Values out of range.
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":-1,"unitPriceCents":-5}`)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":0,"unitPriceCents":1}`)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":1e400,"unitPriceCents":1}`)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":99999999999999999999,"unitPriceCents":1}`)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":10000,"unitPriceCents":9223372036854775807}`)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":10000,"unitPriceCents":900719925474099},` + item)},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"S","quantity":1.5,"unitPriceCents":1e2}`)},
		{apitest.FuzzPOST, "/orders", 0, "", `{"customerId":"` + strings.Repeat("é", 101) + `","currency":"EUR","items":[` + item + `]}`},
		// Strings PostgreSQL or the JSON decoder may choke on.
		{apitest.FuzzPOST, "/orders", 0, "", `{"customerId":"c\u0000","currency":"EUR","items":[` + item + `]}`},
		{apitest.FuzzPOST, "/orders", 0, "", withItems(`{"sku":"\u0000","quantity":1,"unitPriceCents":1}`)},
		{apitest.FuzzPOST, "/orders", 0, "", "{\"customerId\":\"\xff\xfe\",\"currency\":\"EUR\",\"items\":[" + item + "]}"},
		{apitest.FuzzPOST, "/orders", 0, "", `{"customerId":"\ud800","currency":"E\u0000R","items":[` + item + `]}`},
		{apitest.FuzzPOST, "/orders", 0, "", "\xef\xbb\xbf" + ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 0, "", "\xff\xfe"},
		// Idempotency keys.
		{apitest.FuzzPOST, "/orders", 0, " \tpadded\t ", ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 0, "has space", ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 0, "clé", ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 0, strings.Repeat("k", 256), ordertest.SampleOrder},
		{apitest.FuzzPOST, "/orders", 0, "k\x00", ordertest.SampleOrder},
	} {
		f.Add(s.method, s.target, s.contentType, s.key, []byte(s.body))
	}

	e, logs := fuzzServer(f)
	f.Fuzz(func(t *testing.T, method uint8, target string, contentType uint8, key string, body []byte) {
		header := http.Header{}
		if key != "" {
			header.Set(httpapi.HeaderIdempotencyKey, key)
		}
		apitest.FuzzServe(t, e, logs, method, target, contentType, header, body)
	})
}

// fuzzServer is setup for FuzzAPI: the same adapter over a fresh migrated
// database made once for all inputs, holding the order fuzzOrderID, served
// in process; its log keeps warnings and errors for failure messages.
func fuzzServer(f *testing.F) (*echo.Echo, *apitest.Log) {
	f.Helper()
	pool := migrationtest.Pool(f, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	o, err := order.Place(fuzzOrderID, uuid.Must(uuid.NewV7()), order.NewOrder{
		CustomerID: "cust-42", Currency: "EUR", Items: []order.Item{{SKU: "BOOK-0001", Quantity: 2, UnitPriceCents: 1250}},
	}, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := repo.Place(f.Context(), o, "", ""); err != nil {
		f.Fatal(err)
	}
	logs := &apitest.Log{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := httpserver.New(httpserver.Config{
		BodyLimit: "64K", Logger: log,
		Ready: []httpserver.Check{{Name: "database", Check: pool.Ping}},
	})
	httpapi.Register(e, repo, log, httpapi.Options{})
	return e, logs
}
