package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	e := start(t)
	if r := e.Do(http.MethodGet, "/healthz", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("healthz = %d %s", r.Status, r.Body)
	}
	// Ready once the consumer has joined its group.
	eventually(t, "readyz answers 200", func() (bool, string) {
		r := e.Do(http.MethodGet, "/readyz", nil, nil)
		if r.Status != http.StatusOK {
			return false, fmt.Sprintf("%d %s", r.Status, r.Body)
		}
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		r.Decode(t, &body)
		if body.Checks["database"] != "ok" || body.Checks["broker"] != "ok" {
			t.Fatalf("readyz = %s", r.Body)
		}
		return true, ""
	})
}

// With OUTBOX_REQUIRE_CAPTURE (on by default), an order placed before the
// connector's replication slot exists is refused with a 503 instead of
// being written and never published, and the service is not ready; once a
// slot exists, both change.
func TestCaptureGatesWritesAndReadiness(t *testing.T) {
	t.Parallel()
	e := startWith(t, func(c *service.Config) { c.OutboxRequireCapture = true })
	var body ordertest.APIError
	r := e.Do(http.MethodPost, "/orders", []byte(ordertest.SampleOrder), nil)
	if r.Decode(t, &body); r.Status != http.StatusServiceUnavailable || body.Error.Code != "capture_unavailable" {
		t.Fatalf("POST /orders without a slot = %d %s", r.Status, r.Body)
	}
	if n := e.Count("orders", ""); n != 0 {
		t.Fatalf("orders = %d after a refused request, want 0", n)
	}
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	eventually(t, "readyz to name the missing capture", func() (bool, string) {
		r := e.Do(http.MethodGet, "/readyz", nil, nil)
		r.Decode(t, &ready)
		return r.Status == http.StatusServiceUnavailable && ready.Checks["capture"] == "failing" && ready.Checks["broker"] == "ok", string(r.Body)
	})

	// The connector's registration creates the slot.
	if _, err := e.db.Exec(t.Context(), `SELECT pg_create_logical_replication_slot('orders_outbox', 'pgoutput')`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Exec(context.Background(), `SELECT pg_drop_replication_slot('orders_outbox')`) })
	eventually(t, "readyz 200 once the slot exists", func() (bool, string) {
		r := e.Do(http.MethodGet, "/readyz", nil, nil)
		return r.Status == http.StatusOK, string(r.Body)
	})
	if o := e.Place(ordertest.SampleOrder); len(e.Outbox(o.ID)) != 1 {
		t.Fatalf("the order placed with a slot has no OrderCreated row")
	}
}
