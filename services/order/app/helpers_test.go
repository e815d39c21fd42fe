package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/app"
	"github.com/outboxcdc/outboxcdc/testkit/eventtest"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// waitFor bounds every poll for an asynchronous effect; generous because
// the race detector slows everything down.
const waitFor = 30 * time.Second

// env is one running order service with its own database and broker.
type env struct {
	t      *testing.T
	app    *service.Service
	base   string
	db     *pgxpool.Pool
	broker string
	client *http.Client
}

func start(t *testing.T) *env {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	broker := kafkatest.Start(t)
	cfg := service.Config{
		HTTPAddr:                "127.0.0.1:0",
		DatabaseURL:             dsn,
		Brokers:                 []string{broker},
		Group:                   app.DefaultKafkaGroup,
		OutboxDeleteAfterInsert: false,
		HTTPBodyLimit:           service.DefaultHTTPBodyLimit,
		ShutdownTimeout:         10 * time.Second,
		KafkaClientOpts: []kgo.Opt{
			kgo.HeartbeatInterval(100 * time.Millisecond),
			kgo.AutoCommitInterval(100 * time.Millisecond),
			kgo.FetchMaxWait(100 * time.Millisecond),
		},
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := servicetest.Start(t, app.Start, cfg, log)
	db, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return &env{t: t, app: a, base: "http://" + a.Addr(), db: db, broker: broker, client: &http.Client{Timeout: 30 * time.Second}}
}

// in returns the env bound to t, for subtests: failures must be reported
// on the goroutine of the test that fails.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// response is one HTTP answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiError is the shared error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

func (e *env) do(method, path string, body []byte, header map[string]string) response {
	e.t.Helper()
	r, err := e.try(method, path, body, header)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// try is do for goroutines other than the test's: it returns the error.
func (e *env) try(method, path string, body []byte, header map[string]string) (response, error) {
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.base+path, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// orderJSON mirrors the API's order representation.
type orderJSON struct {
	ID                 string  `json:"id"`
	CustomerID         string  `json:"customerId"`
	Currency           string  `json:"currency"`
	Status             string  `json:"status"`
	TotalCents         int64   `json:"totalCents"`
	CancellationReason *string `json:"cancellationReason"`
	PaymentCaptured    bool    `json:"paymentCaptured"`
	InventoryReserved  bool    `json:"inventoryReserved"`
	Items              []struct {
		SKU            string `json:"sku"`
		Quantity       int    `json:"quantity"`
		UnitPriceCents int64  `json:"unitPriceCents"`
	} `json:"items"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	History   []struct {
		Status    string    `json:"status"`
		EventType string    `json:"eventType"`
		EventID   string    `json:"eventId"`
		At        time.Time `json:"at"`
	} `json:"history"`
}

const sampleOrder = `{"customerId":"cust-42","currency":"EUR","items":[
  {"sku":"BOOK-0001","quantity":2,"unitPriceCents":1250},
  {"sku":"PEN-0007","quantity":1,"unitPriceCents":399}]}`

// place creates an order and fails the test unless it gets a 201.
func (e *env) place(body string) orderJSON {
	e.t.Helper()
	r := e.do(http.MethodPost, "/orders", []byte(body), nil)
	if r.status != http.StatusCreated {
		e.t.Fatalf("POST /orders = %d %s", r.status, r.body)
	}
	var o orderJSON
	r.decode(e.t, &o)
	return o
}

func (e *env) get(id string) orderJSON {
	e.t.Helper()
	r := e.do(http.MethodGet, "/orders/"+id, nil, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /orders/%s = %d %s", id, r.status, r.body)
	}
	var o orderJSON
	r.decode(e.t, &o)
	return o
}

// eventually polls cond until it reports true or waitFor passes; cond's
// string describes the last state for the failure message.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last: %s", what, waitFor, last)
		}
		<-tick.C
	}
}

// waitOrder polls the order until cond holds.
func (e *env) waitOrder(id string, what string, cond func(orderJSON) bool) orderJSON {
	e.t.Helper()
	var o orderJSON
	eventually(e.t, "order "+id+": "+what, func() (bool, string) {
		o = e.get(id)
		return cond(o), fmt.Sprintf("%+v", o)
	})
	return o
}

// waitInbox waits until the service has finished with event id and returns
// the inbox outcome ("processed" or "dead_lettered").
func (e *env) waitInbox(id string) string {
	e.t.Helper()
	return eventtest.WaitHandled(e.t, e.db, app.DefaultKafkaGroup, id)[id]
}

func (e *env) count(table, where string, args ...any) int {
	e.t.Helper()
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := e.db.QueryRow(e.t.Context(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// outbox returns the order's outbox rows, oldest first, after checking each
// row's routing column and its payload against its schema.
func (e *env) outbox(orderID string) []eventtest.Row {
	e.t.Helper()
	return eventtest.Outbox(e.t, e.db, eventtest.Expect{AggregateType: events.AggregateOrder, Validate: schemas.Validate}, orderID)
}

// emit produces an event onto topic exactly as the CDC connector would
// (see eventtest.Record) and returns the event id. A []byte payload is sent
// as is.
func (e *env) emit(topic, eventType, orderID string, payload any) string {
	e.t.Helper()
	r := eventtest.Record(e.t, topic, eventType, orderID, payload)
	kafkatest.Produce(e.t, e.broker, topic, r)
	return eventtest.ID(r)
}

func (e *env) emitWithID(id, topic, eventType, orderID string, payload any) {
	e.t.Helper()
	kafkatest.Produce(e.t, e.broker, topic, eventtest.RecordWithID(e.t, id, topic, eventType, orderID, payload))
}

func fieldsOf(e apiError) string {
	var fs []string
	for _, d := range e.Error.Details {
		fs = append(fs, d.Field)
	}
	return strings.Join(fs, ",")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("must: %v", err))
	}
	return v
}
