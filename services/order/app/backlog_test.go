package app_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
	"github.com/outboxcdc/outboxcdc/testkit/metricstest"
)

// TestBacklogRefusesOrders runs the order service alone, so its orders stay
// PENDING until the test answers for the payment and inventory services:
// with MAX_BACKLOG 2, the third order is refused with 503 overloaded and
// Retry-After; once one order is confirmed, orders are accepted again.
func TestBacklogRefusesOrders(t *testing.T) {
	e := startWith(t, func(c *service.Config) { c.MaxBacklog = 2 })
	first := e.Place(ordertest.SampleOrder)
	e.Place(ordertest.SampleOrder)

	var refused ordertest.Response
	eventually(t, "an order refused once two are pending", func() (bool, string) {
		refused = e.Do(http.MethodPost, "/orders", []byte(ordertest.SampleOrder), nil)
		if refused.Status == http.StatusCreated {
			// Accepted before the count caught up: the bound is checked
			// against the last count. Still pending, it counts too.
			return false, "accepted"
		}
		return true, fmt.Sprint(refused.Status)
	})
	var body ordertest.APIError
	refused.Decode(t, &body)
	if refused.Status != http.StatusServiceUnavailable || body.Error.Code != "overloaded" || refused.Header.Get("Retry-After") != "1" {
		t.Fatalf("refused order: %d %s, Retry-After %q; want 503 overloaded with Retry-After 1",
			refused.Status, refused.Body, refused.Header.Get("Retry-After"))
	}
	if got := metricstest.Scrape(t, e.Base, "orders_backlog")["{}"]; got < 2 {
		t.Errorf("orders_backlog = %v while an order is refused, want at least 2", got)
	}

	// The saga finishes every pending order: the service admits again.
	for _, o := range e.pending() {
		e.capture(o)
		e.reserve(o)
	}
	e.waitOrder(first.ID, "confirmed", func(o ordertest.Order) bool { return o.Status == "CONFIRMED" })
	eventually(t, "orders accepted again once the backlog drained", func() (bool, string) {
		r := e.Do(http.MethodPost, "/orders", []byte(ordertest.SampleOrder), nil)
		return r.Status == http.StatusCreated, fmt.Sprint(r.Status)
	})
}

// pending returns the orders still PENDING.
func (e *env) pending() []ordertest.Order {
	e.t.Helper()
	rows, err := e.db.Query(e.t.Context(), `SELECT id FROM orders WHERE status = 'PENDING'`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	out := make([]ordertest.Order, len(ids))
	for i, id := range ids {
		out[i] = e.Get(id)
	}
	return out
}
