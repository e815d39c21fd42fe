package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
	"github.com/outboxcdc/outboxcdc/services/order/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/apitest"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// start serves the HTTP adapter alone, on the real storage adapter over a
// fresh migrated database, with the service's body limit; outbox rows are
// kept so tests can read them.
func start(t *testing.T) *ordertest.Env {
	t.Helper()
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	url := apitest.Server(t, httpserver.Config{BodyLimit: "64K", Logger: log},
		func(e *echo.Echo) { httpapi.Register(e, repo, log, httpapi.Options{}) })
	return ordertest.New(t, url, pool)
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	e := start(t)

	r := e.Do(http.MethodPost, "/orders", []byte(ordertest.SampleOrder), nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /orders = %d %s", r.Status, r.Body)
	}
	var o ordertest.Order
	r.Decode(t, &o)
	id, err := uuid.Parse(o.ID)
	if err != nil || id.Version() != 7 {
		t.Fatalf("order id %q is not a UUIDv7 (%v)", o.ID, err)
	}
	if got := r.Header.Get("Location"); got != "/orders/"+o.ID {
		t.Errorf("Location = %q", got)
	}
	if o.Status != "PENDING" || o.TotalCents != 2899 || o.Currency != "EUR" || o.CustomerID != "cust-42" ||
		len(o.Items) != 2 || o.Items[1].SKU != "PEN-0007" || o.CancellationReason != nil || o.CreatedAt.IsZero() {
		t.Fatalf("created order = %+v", o)
	}
	if len(o.History) != 1 || o.History[0].Status != "PENDING" || o.History[0].EventType != events.TypeOrderCreated {
		t.Fatalf("history = %+v", o.History)
	}

	// GET returns what POST answered, read back from the database.
	got := e.Get(o.ID)
	if a, b := ordertest.Must(json.Marshal(got)), ordertest.Must(json.Marshal(o)); string(a) != string(b) {
		t.Fatalf("GET differs from POST:\n got %s\nwant %s", a, b)
	}

	rows := e.Outbox(o.ID)
	if len(rows) != 1 {
		t.Fatalf("outbox rows = %+v, want one OrderCreated", rows)
	}
	row := rows[0]
	if row.Type != events.TypeOrderCreated || row.AggregateType != events.AggregateOrder || row.AggregateID != o.ID {
		t.Fatalf("outbox row = %+v", row)
	}
	if row.ID != o.History[0].EventID {
		t.Errorf("history event id %s, outbox event id %s", o.History[0].EventID, row.ID)
	}
	var created events.OrderCreated
	if err := json.Unmarshal(row.Payload, &created); err != nil {
		t.Fatal(err)
	}
	if created.OrderID != o.ID || created.TotalCents != 2899 || len(created.Items) != 2 || created.Items[0].Quantity != 2 {
		t.Fatalf("OrderCreated payload = %s", row.Payload)
	}
	if n := e.Count("order_items", "order_id = $1", o.ID); n != 2 {
		t.Errorf("order_items rows = %d, want 2", n)
	}
}

func TestPlaceOrderRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := start(t)

	big := `{"customerId":"c","currency":"EUR","items":[{"sku":"` + strings.Repeat("S", 70*1024) + `","quantity":1,"unitPriceCents":1}]}`
	manyItems := `{"customerId":"c","currency":"EUR","items":[` +
		strings.TrimSuffix(strings.Repeat(`{"sku":"S","quantity":1,"unitPriceCents":1},`, 101), ",") + `]}`
	tests := []struct {
		name   string
		body   string
		header map[string]string
		status int
		code   string
		fields string // comma separated detail fields, when checked
	}{
		{"malformed JSON", `{"customerId":`, nil, 400, "malformed_json", ""},
		{"not JSON", `hello`, nil, 400, "malformed_json", ""},
		{"empty body", ``, nil, 400, "malformed_json", ""},
		{"two values", ordertest.SampleOrder + ordertest.SampleOrder, nil, 400, "malformed_json", ""},
		{"array body", `[]`, nil, 400, "wrong_type", ""},
		{"quantity as string", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":"2","unitPriceCents":1}]}`, nil, 400, "wrong_type", "items.quantity"},
		{"quantity fractional", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":1.5,"unitPriceCents":1}]}`, nil, 400, "wrong_type", "items.quantity"},
		{"customer as number", `{"customerId":5,"currency":"EUR","items":[{"sku":"S","quantity":1,"unitPriceCents":1}]}`, nil, 400, "wrong_type", "customerId"},
		{"items as object", `{"customerId":"c","currency":"EUR","items":{}}`, nil, 400, "wrong_type", "items"},
		{"unknown field", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":1,"unitPriceCents":1}],"coupon":"X"}`, nil, 400, "unknown_field", ""},
		{"unknown item field", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":1,"unitPriceCents":1,"color":"red"}]}`, nil, 400, "unknown_field", ""},
		{"empty object", `{}`, nil, 422, "validation_failed", "customerId,currency,items"},
		{"missing item fields", `{"customerId":"c","currency":"EUR","items":[{"sku":"S"}]}`, nil, 422, "validation_failed", "items[0].quantity,items[0].unitPriceCents"},
		{"null item", `{"customerId":"c","currency":"EUR","items":[null]}`, nil, 422, "validation_failed", "items[0]"},
		{"zero quantity", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":0,"unitPriceCents":1}]}`, nil, 422, "validation_failed", "items[0].quantity"},
		{"negative quantity", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":-1,"unitPriceCents":1}]}`, nil, 422, "validation_failed", "items[0].quantity"},
		{"quantity too big", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":10001,"unitPriceCents":1}]}`, nil, 422, "validation_failed", "items[0].quantity"},
		{"negative price", `{"customerId":"c","currency":"EUR","items":[{"sku":"S","quantity":1,"unitPriceCents":-5}]}`, nil, 422, "validation_failed", "items[0].unitPriceCents"},
		{"empty sku", `{"customerId":"c","currency":"EUR","items":[{"sku":"","quantity":1,"unitPriceCents":1}]}`, nil, 422, "validation_failed", "items[0].sku"},
		{"empty items", `{"customerId":"c","currency":"EUR","items":[]}`, nil, 422, "validation_failed", "items"},
		{"too many items", manyItems, nil, 422, "validation_failed", "items"},
		{"bad currency", `{"customerId":"c","currency":"euro","items":[{"sku":"S","quantity":1,"unitPriceCents":1}]}`, nil, 422, "validation_failed", "currency"},
		{"customer too long", `{"customerId":"` + strings.Repeat("c", 101) + `","currency":"EUR","items":[{"sku":"S","quantity":1,"unitPriceCents":1}]}`, nil, 422, "validation_failed", "customerId"},
		{"bad idempotency key", ordertest.SampleOrder, map[string]string{"Idempotency-Key": "has space"}, 422, "validation_failed", "Idempotency-Key"},
		{"oversize body", big, nil, 413, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.In(t)
			r := e.Do(http.MethodPost, "/orders", []byte(tt.body), tt.header)
			if r.Status != tt.status {
				t.Fatalf("status = %d %s, want %d", r.Status, r.Body, tt.status)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			var ae ordertest.APIError
			r.Decode(t, &ae)
			if ae.Error.Code != tt.code || ae.Error.Message == "" {
				t.Fatalf("error = %+v, want code %s", ae.Error, tt.code)
			}
			if tt.fields != "" && ordertest.FieldsOf(ae) != tt.fields {
				t.Fatalf("detail fields = %q, want %q (%s)", ordertest.FieldsOf(ae), tt.fields, r.Body)
			}
			for _, table := range []string{"orders", "order_items", "order_history", "idempotency_keys", "outbox"} {
				if n := e.Count(table, ""); n != 0 {
					t.Fatalf("%s has %d rows after a rejected request", table, n)
				}
			}
		})
	}
}

func TestGetOrderNotFound(t *testing.T) {
	t.Parallel()
	e := start(t)
	placed := e.Place(ordertest.SampleOrder)
	for _, id := range []string{
		uuid.Must(uuid.NewV7()).String(),
		"not-a-uuid",
		strings.ReplaceAll(placed.ID, "-", ""), // not the canonical form
		"'; DROP TABLE orders; --",
	} {
		r := e.Do(http.MethodGet, "/orders/"+strings.ReplaceAll(id, " ", "%20"), nil, nil)
		var ae ordertest.APIError
		r.Decode(t, &ae)
		if r.Status != http.StatusNotFound || ae.Error.Code != "not_found" {
			t.Errorf("GET /orders/%s = %d %s, want 404 not_found", id, r.Status, r.Body)
		}
	}
	// Upper-case hex is still the same UUID.
	if got := e.Get(strings.ToUpper(placed.ID)); got.ID != placed.ID {
		t.Errorf("upper-case id gave %s", got.ID)
	}
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	e := start(t)
	var ann []string
	for range 3 {
		ann = append(ann, e.Place(strings.Replace(ordertest.SampleOrder, "cust-42", "ann", 1)).ID)
	}
	bob := e.Place(strings.Replace(ordertest.SampleOrder, "cust-42", "bob", 1))

	list := func(query string) []ordertest.Order {
		t.Helper()
		r := e.Do(http.MethodGet, "/orders"+query, nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /orders%s = %d %s", query, r.Status, r.Body)
		}
		var out struct {
			Orders []ordertest.Order `json:"orders"`
		}
		r.Decode(t, &out)
		return out.Orders
	}
	ids := func(os []ordertest.Order) string {
		var s []string
		for _, o := range os {
			s = append(s, o.ID)
		}
		return strings.Join(s, ",")
	}

	if got, want := ids(list("?customerId=ann")), strings.Join([]string{ann[2], ann[1], ann[0]}, ","); got != want {
		t.Errorf("ann's orders = %s, want newest first %s", got, want)
	}
	if got := list("?customerId=ann&limit=2"); len(got) != 2 || got[0].ID != ann[2] || len(got[0].Items) != 2 || len(got[0].History) != 1 {
		t.Errorf("limit=2 gave %+v", got)
	}
	if got := list(""); len(got) != 4 || got[0].ID != bob.ID {
		t.Errorf("all orders = %s", ids(got))
	}
	if got := list("?status=PENDING&customerId=bob"); ids(got) != bob.ID {
		t.Errorf("bob's pending orders = %s", ids(got))
	}
	if got := list("?status=CONFIRMED"); len(got) != 0 {
		t.Errorf("confirmed orders = %s, want none", ids(got))
	}
	if got := list("?customerId=nobody"); len(got) != 0 {
		t.Errorf("nobody's orders = %s", ids(got))
	}

	for _, tt := range []struct {
		query  string
		status int
		field  string
	}{
		{"?status=DONE", 422, "status"},
		{"?status=pending", 422, "status"},
		{"?limit=0", 422, "limit"},
		{"?limit=501", 422, "limit"},
		{"?limit=-1", 422, "limit"},
		{"?limit=ten", 400, "limit"},
	} {
		r := e.Do(http.MethodGet, "/orders"+tt.query, nil, nil)
		var ae ordertest.APIError
		r.Decode(t, &ae)
		if r.Status != tt.status || ordertest.FieldsOf(ae) != tt.field {
			t.Errorf("GET /orders%s = %d %s, want %d on %s", tt.query, r.Status, r.Body, tt.status, tt.field)
		}
	}
	if got := list("?limit=500"); len(got) != 4 {
		t.Errorf("limit=500 gave %d orders", len(got))
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := start(t)
	key := map[string]string{"Idempotency-Key": "checkout-7f3a"}

	first := e.Do(http.MethodPost, "/orders", []byte(ordertest.SampleOrder), key)
	if first.Status != http.StatusCreated {
		t.Fatalf("first POST = %d %s", first.Status, first.Body)
	}
	var created ordertest.Order
	first.Decode(t, &created)

	t.Run("replay returns the original order", func(t *testing.T) {
		e := e.In(t)
		// Same content, spelled differently.
		again := strings.ReplaceAll(ordertest.SampleOrder, "\n", " ")
		r := e.Do(http.MethodPost, "/orders", []byte(again), key)
		if r.Status != http.StatusOK {
			t.Fatalf("replay = %d %s, want 200", r.Status, r.Body)
		}
		var o ordertest.Order
		r.Decode(t, &o)
		if o.ID != created.ID || o.TotalCents != created.TotalCents {
			t.Fatalf("replay returned %+v, want order %s", o, created.ID)
		}
		if r.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("Idempotent-Replayed header missing")
		}
		if n := e.Count("orders", ""); n != 1 {
			t.Fatalf("orders = %d after a replay, want 1", n)
		}
		if n := e.Count("outbox", ""); n != 1 {
			t.Fatalf("outbox rows = %d after a replay, want 1", n)
		}
	})

	t.Run("different body conflicts", func(t *testing.T) {
		e := e.In(t)
		other := strings.Replace(ordertest.SampleOrder, `"quantity":2`, `"quantity":3`, 1)
		r := e.Do(http.MethodPost, "/orders", []byte(other), key)
		var ae ordertest.APIError
		r.Decode(t, &ae)
		if r.Status != http.StatusConflict || ae.Error.Code != "idempotency_key_reused" {
			t.Fatalf("reuse = %d %s, want 409 idempotency_key_reused", r.Status, r.Body)
		}
		if n := e.Count("orders", ""); n != 1 {
			t.Fatalf("orders = %d after a conflict, want 1", n)
		}
	})

	t.Run("concurrent duplicates create one order", func(t *testing.T) {
		e := e.In(t)
		const n = 8
		key := map[string]string{"Idempotency-Key": "concurrent-" + uuid.NewString()}
		body := strings.Replace(ordertest.SampleOrder, "cust-42", "racer", 1)
		var wg sync.WaitGroup
		results := make([]ordertest.Response, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { results[i], errs[i] = e.Try(http.MethodPost, "/orders", []byte(body), key) })
		}
		wg.Wait()
		ids := map[string]bool{}
		createdCount := 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch r.Status {
			case http.StatusCreated:
				createdCount++
			case http.StatusOK:
			default:
				t.Fatalf("concurrent POST = %d %s", r.Status, r.Body)
			}
			var o ordertest.Order
			r.Decode(t, &o)
			ids[o.ID] = true
		}
		if createdCount != 1 || len(ids) != 1 {
			t.Fatalf("%d created, %d distinct ids; want 1 and 1", createdCount, len(ids))
		}
		if got := e.Count("orders", "customer_id = 'racer'"); got != 1 {
			t.Fatalf("racer has %d orders, want 1", got)
		}
	})
}
