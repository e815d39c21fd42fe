package ordertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/testkit/eventtest"
)

// Env is one order API at Base with its database.
type Env struct {
	T      *testing.T
	Base   string
	DB     *pgxpool.Pool
	Client *http.Client
}

// New returns an Env for the API at base over db.
func New(t *testing.T, base string, db *pgxpool.Pool) *Env {
	return &Env{T: t, Base: base, DB: db, Client: &http.Client{Timeout: 30 * time.Second}}
}

// In returns the Env bound to t, for subtests: failures must be reported
// on the goroutine of the test that fails.
func (e *Env) In(t *testing.T) *Env {
	c := *e
	c.T = t
	return &c
}

// Response is one HTTP answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test when it cannot.
func (r Response) Decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// APIError is the shared error body.
type APIError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

// FieldsOf lists the fields an error's details name, comma separated.
func FieldsOf(e APIError) string {
	var fs []string
	for _, d := range e.Error.Details {
		fs = append(fs, d.Field)
	}
	return strings.Join(fs, ",")
}

// Do sends a request and fails the test when it cannot.
func (e *Env) Do(method, path string, body []byte, header map[string]string) Response {
	e.T.Helper()
	r, err := e.Try(method, path, body, header)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// Try is Do for goroutines other than the test's: it returns the error.
func (e *Env) Try(method, path string, body []byte, header map[string]string) (Response, error) {
	req, err := http.NewRequestWithContext(e.T.Context(), method, e.Base+path, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Order mirrors the API's order representation.
type Order struct {
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

// SampleOrder is a valid POST /orders body: two lines, 2899 cents.
const SampleOrder = `{"customerId":"cust-42","currency":"EUR","items":[
  {"sku":"BOOK-0001","quantity":2,"unitPriceCents":1250},
  {"sku":"PEN-0007","quantity":1,"unitPriceCents":399}]}`

// Place creates an order and fails the test unless it gets a 201.
func (e *Env) Place(body string) Order {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/orders", []byte(body), nil)
	if r.Status != http.StatusCreated {
		e.T.Fatalf("POST /orders = %d %s", r.Status, r.Body)
	}
	var o Order
	r.Decode(e.T, &o)
	return o
}

// Get reads an order and fails the test unless it gets a 200.
func (e *Env) Get(id string) Order {
	e.T.Helper()
	r := e.Do(http.MethodGet, "/orders/"+id, nil, nil)
	if r.Status != http.StatusOK {
		e.T.Fatalf("GET /orders/%s = %d %s", id, r.Status, r.Body)
	}
	var o Order
	r.Decode(e.T, &o)
	return o
}

// Count counts the rows of table matching where ("" for all).
func (e *Env) Count(table, where string, args ...any) int {
	e.T.Helper()
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := e.DB.QueryRow(e.T.Context(), q, args...).Scan(&n); err != nil {
		e.T.Fatalf("%s: %v", q, err)
	}
	return n
}

// Outbox returns the order's outbox rows, oldest first, after checking each
// row's routing columns and its payload against its schema.
func (e *Env) Outbox(orderID string) []eventtest.Row {
	e.T.Helper()
	return eventtest.Outbox(e.T, e.DB, eventtest.Expect{AggregateType: events.AggregateOrder, Validate: schemas.Validate}, orderID)
}

// Must returns v, panicking on err (for values a test builds itself).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("must: %v", err))
	}
	return v
}
