package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/waterfall"
	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

// TestOrderTraceInJaeger places an order that is cancelled and refunded on
// a stack started as make dev starts it, Jaeger included, and reads its
// trace back through Jaeger's query API: one trace from the POST, spans of
// all three services, every consumed record's span the child of the span
// that wrote its event in another service (the Kafka hop), the
// compensation included; then outboxctl order --html draws it. On the
// Debezium stack the connector records no span of its own and the trace
// must still be connected: the outbox row's traceparent column becomes the
// record's header.
func TestOrderTraceInJaeger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts whole stacks")
	}
	bin := devstacktest.Build(t)
	for _, stack := range []string{"embedded", "debezium"} {
		t.Run(stack, func(t *testing.T) {
			if stack != "embedded" {
				jvmtest.LibDir(t) // skips (outside CI) or fails where the JVM stack cannot run
			}
			st := devstacktest.Start(t, bin, stack, devstacktest.WithJaeger())
			orderID := placeCancelledOrder(t, st)

			jaegerURL := st.URL("JAEGER_PORT")
			client := &waterfall.Client{BaseURL: jaegerURL}
			var tr *waterfall.Trace
			// Each service exports its spans on its own, so the last hop's
			// span can reach Jaeger before an earlier hop's: wait for every
			// consumption of the saga's events and for every span's parent.
			consumed := [][2]string{
				{"inventory-service", "OrderCreated"}, {"payment-service", "OrderCreated"},
				{"order-service", "InventoryRejected"}, {"order-service", "PaymentCaptured"},
				{"inventory-service", "OrderCancelled"}, {"payment-service", "OrderCancelled"},
				{"order-service", "PaymentRefunded"},
			}
			servicetest.WaitFor(t, 60*time.Second, "the order's trace in Jaeger, each of the saga's consumptions and every span's parent in it", func() bool {
				var err error
				tr, err = client.OrderTrace(t.Context(), orderID, time.Now().Add(-10*time.Minute))
				if err != nil || !parentsPresent(tr) {
					return false
				}
				for _, c := range consumed {
					if !hasSpan(tr, c[0], "consumer", c[1]) {
						return false
					}
				}
				return true
			})
			checkTrace(t, tr)

			page := filepath.Join(t.TempDir(), "trace.html")
			pg := st.Ports["PG_PORT"]
			env := map[string]string{
				"ORDERS_DATABASE_URL":    fmt.Sprintf("postgres://order_service:order_service@127.0.0.1:%d/orders?sslmode=disable", pg),
				"PAYMENTS_DATABASE_URL":  fmt.Sprintf("postgres://payment_service:payment_service@127.0.0.1:%d/payments?sslmode=disable", pg),
				"INVENTORY_DATABASE_URL": fmt.Sprintf("postgres://inventory_service:inventory_service@127.0.0.1:%d/inventory?sslmode=disable", pg),
				"KAFKA_BROKERS":          "127.0.0.1:" + strconv.Itoa(st.Ports["KAFKA_PORT"]),
				"JAEGER_URL":             jaegerURL,
			}
			var out, errOut bytes.Buffer
			err := run(t.Context(), []string{"order", "--html", page, orderID}, func(k string) string { return env[k] }, &out, &errOut)
			if code := exitCode(err); code != 0 {
				t.Fatalf("outboxctl order --html: exit %d (%v)\n%s%s", code, err, out.String(), errOut.String())
			}
			html, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			if hops, want := strings.Count(string(html), `class="hop"`), crossServiceHops(tr); hops != want || want < 5 {
				t.Errorf("the page draws %d Kafka hops, the trace has %d (want at least 5)", hops, want)
			}
		})
	}
}

// placeCancelledOrder seeds a customer who can pay and a SKU short of
// stock, places an order for it and waits until it is CANCELLED and its
// payment REFUNDED; it returns the order's id.
func placeCancelledOrder(t *testing.T, st *devstacktest.Stack) string {
	t.Helper()
	do := func(method, url, body string, into any) int {
		req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if into != nil {
			_ = json.Unmarshal(raw, into)
		}
		return resp.StatusCode
	}
	if code := do(http.MethodPut, st.URL("PAYMENT_PORT")+"/accounts/traced", `{"balanceCents": 10000}`, nil); code != 200 {
		t.Fatalf("PUT account: %d", code)
	}
	if code := do(http.MethodPut, st.URL("INVENTORY_PORT")+"/stock/TRACED-1", `{"available": 1}`, nil); code != 200 {
		t.Fatalf("PUT stock: %d", code)
	}
	var o struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if code := do(http.MethodPost, st.URL("ORDER_PORT")+"/orders",
		`{"customerId":"traced","currency":"EUR","items":[{"sku":"TRACED-1","quantity":3,"unitPriceCents":1000}]}`, &o); code != 201 {
		t.Fatalf("POST /orders: %d", code)
	}
	servicetest.WaitFor(t, 60*time.Second, "the order cancelled and refunded", func() bool {
		var got struct {
			Status string `json:"status"`
		}
		var pays struct {
			Payments []struct {
				Status string `json:"status"`
			} `json:"payments"`
		}
		do(http.MethodGet, st.URL("ORDER_PORT")+"/orders/"+o.ID, "", &got)
		do(http.MethodGet, st.URL("PAYMENT_PORT")+"/payments?orderId="+o.ID, "", &pays)
		return got.Status == "CANCELLED" && len(pays.Payments) == 1 && pays.Payments[0].Status == "REFUNDED"
	})
	return o.ID
}

// hasSpan reports whether tr has a span of service and kind whose
// event.type is eventType.
func hasSpan(tr *waterfall.Trace, service, kind, eventType string) bool {
	for i := range tr.Spans {
		s := &tr.Spans[i]
		if tr.Service(s) == service && s.TagString("span.kind") == kind && s.TagString("event.type") == eventType {
			return true
		}
	}
	return false
}

// crossServiceHops counts the consumer spans whose parent is in another
// service: the Kafka hops.
func crossServiceHops(tr *waterfall.Trace) int {
	byID := spansByID(tr)
	n := 0
	for i := range tr.Spans {
		s := &tr.Spans[i]
		if p := byID[s.Parent()]; p != nil && s.TagString("span.kind") == "consumer" && tr.Service(p) != tr.Service(s) {
			n++
		}
	}
	return n
}

// parentsPresent reports whether every span's parent is in the trace.
func parentsPresent(tr *waterfall.Trace) bool {
	byID := spansByID(tr)
	for i := range tr.Spans {
		if p := tr.Spans[i].Parent(); p != "" && byID[p] == nil {
			return false
		}
	}
	return true
}

func spansByID(tr *waterfall.Trace) map[string]*waterfall.Span {
	m := make(map[string]*waterfall.Span, len(tr.Spans))
	for i := range tr.Spans {
		m[tr.Spans[i].SpanID] = &tr.Spans[i]
	}
	return m
}

// checkTrace checks the shape of a cancelled and refunded order's trace.
func checkTrace(t *testing.T, tr *waterfall.Trace) {
	t.Helper()
	byID := spansByID(tr)
	var roots []string
	services := map[string]bool{}
	kinds := map[string]bool{}
	compensated := false
	for i := range tr.Spans {
		s := &tr.Spans[i]
		svc, kind := tr.Service(s), s.TagString("span.kind")
		services[svc], kinds[svc+" "+kind] = true, true
		name := svc + " " + s.OperationName
		if s.Parent() == "" {
			roots = append(roots, name)
			continue
		}
		p := byID[s.Parent()]
		if p == nil {
			t.Errorf("%s: parent %s is not in the trace", name, s.Parent())
			continue
		}
		if kind == "consumer" {
			if tr.Service(p) == svc {
				t.Errorf("%s: parent %s in its own service, want the writer's across the Kafka hop", name, p.OperationName)
			}
			if id := s.TagString("messaging.message.id"); !slices.Contains(p.TagStrings("outbox.event_ids"), id) {
				t.Errorf("%s (event %s %s): parent %s %s wrote %v, not this event", name, s.TagString("event.type"), id,
					tr.Service(p), p.OperationName, p.TagStrings("outbox.event_ids"))
			}
		}
		if svc == "payment-service" && s.OperationName == "handle OrderCancelled" &&
			slices.Contains(s.TagStrings("outbox.event_types"), "PaymentRefunded") {
			compensated = true
		}
	}
	if len(roots) != 1 || roots[0] != "order-service POST /orders" {
		t.Errorf("roots %v, want the one order-service POST /orders", roots)
	}
	for _, want := range []string{"order-service server", "order-service consumer", "payment-service consumer", "inventory-service consumer"} {
		if !kinds[want] {
			t.Errorf("no %s span in the trace (have %v)", want, kinds)
		}
	}
	if !compensated {
		t.Error("no payment-service span handling OrderCancelled and writing PaymentRefunded in the trace")
	}
	if t.Failed() {
		raw, _ := json.MarshalIndent(tr, "", " ")
		t.Logf("trace:\n%s", raw)
	}
}
