package sagatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/relay"
	inventoryapp "github.com/outboxcdc/outboxcdc/services/inventory/app"
	orderapp "github.com/outboxcdc/outboxcdc/services/order/app"
	paymentapp "github.com/outboxcdc/outboxcdc/services/payment/app"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const root = "../../.."

// stack is the whole saga: the three services, the broker and walrelay
// streaming each service's outbox, registered with connectors/debezium/*.json.
type stack struct {
	orderURL, paymentURL, inventoryURL string
	broker                             string
	// spans are every service's ended spans, each service with a tracer
	// provider of its own as in its own process.
	spans *tracetest.SpanRecorder
}

// tracer returns a provider for the service named name that records into
// rec.
func tracer(rec *tracetest.SpanRecorder, name string) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))))
}

func startStack(t *testing.T) *stack {
	t.Helper()
	ctx := t.Context()
	cluster := pgtest.Cluster(t)
	for _, db := range []string{"orders", "payments", "inventory"} {
		if err := cluster.CreateDatabase(ctx, db, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cluster.DropDatabase(context.Background(), db) })
	}
	broker := kafkatest.Start(t)
	log := slog.New(slog.NewTextHandler(failureLog(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := func(db string) func(string) string {
		vars := map[string]string{
			"HTTP_ADDR":     "127.0.0.1:0",
			"DATABASE_URL":  cluster.DSN(db),
			"KAFKA_BROKERS": broker,
		}
		return func(k string) string { return vars[k] }
	}
	s := &stack{broker: broker, spans: tracetest.NewSpanRecorder()}

	ocfg, err := orderapp.ConfigFromEnv(env("orders"))
	if err != nil {
		t.Fatal(err)
	}
	ocfg.Tracing = tracer(s.spans, "order-service")
	oapp, err := orderapp.Start(ctx, ocfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = oapp.Shutdown(context.Background()) })
	s.orderURL = "http://" + oapp.Addr()

	pcfg, err := paymentapp.ConfigFromEnv(env("payments"))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.Tracing = tracer(s.spans, "payment-service")
	papp, err := paymentapp.Start(ctx, pcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = papp.Shutdown(context.Background()) })
	s.paymentURL = "http://" + papp.Addr()

	icfg, err := inventoryapp.ConfigFromEnv(env("inventory"))
	if err != nil {
		t.Fatal(err)
	}
	icfg.Tracing = tracer(s.spans, "inventory-service")
	iapp, err := inventoryapp.Start(ctx, icfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iapp.Shutdown(context.Background()) })
	s.inventoryURL = "http://" + iapp.Addr()

	// walrelay in this process (under the race detector), configured like
	// the Connect container: ${env:...} in the connector JSON resolves
	// through the worker's config provider.
	relayEnv := map[string]string{
		"CDC_DB_HOST":     "127.0.0.1",
		"CDC_DB_PORT":     strconv.Itoa(cluster.Port()),
		"CDC_DB_USER":     "postgres",
		"CDC_DB_PASSWORD": "postgres",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.Start(ctx, relay.Config{
		Brokers: []string{broker},
		Worker: map[string]string{
			"config.providers":           "env",
			"config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
		},
		Listener:  ln,
		LookupEnv: func(k string) (string, bool) { v, ok := relayEnv[k]; return v, ok },
		Logger:    log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("walrelay close: %v", err)
		}
	})
	reg := exec.Command("bash", filepath.Join(root, "scripts", "register-connector.sh"), "--url", r.URL(), "--timeout", "90")
	out, err := reg.CombinedOutput()
	if err != nil {
		t.Fatalf("register-connector.sh: %v\n%s", err, out)
	}
	return s
}

// ---- HTTP ----

func call(t *testing.T, method, url string, body, into any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
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
	if into != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatalf("%s %s: %s: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode
}

func (s *stack) setBalance(t *testing.T, customer string, cents int64) {
	t.Helper()
	if code := call(t, http.MethodPut, s.paymentURL+"/accounts/"+customer, map[string]int64{"balanceCents": cents}, nil); code != 200 {
		t.Fatalf("PUT account %s: %d", customer, code)
	}
}

func (s *stack) balance(t *testing.T, customer string) int64 {
	t.Helper()
	var acc struct {
		BalanceCents int64 `json:"balanceCents"`
	}
	if code := call(t, http.MethodGet, s.paymentURL+"/accounts/"+customer, nil, &acc); code != 200 {
		t.Fatalf("GET account %s: %d", customer, code)
	}
	return acc.BalanceCents
}

type stockLevel struct {
	Available int `json:"available"`
	Reserved  int `json:"reserved"`
}

func (s *stack) setStock(t *testing.T, sku string, n int) {
	t.Helper()
	if code := call(t, http.MethodPut, s.inventoryURL+"/stock/"+sku, map[string]int{"available": n}, nil); code != 200 {
		t.Fatalf("PUT stock %s: %d", sku, code)
	}
}

func (s *stack) stock(t *testing.T, sku string) stockLevel {
	t.Helper()
	var st stockLevel
	if code := call(t, http.MethodGet, s.inventoryURL+"/stock/"+sku, nil, &st); code != 200 {
		t.Fatalf("GET stock %s: %d", sku, code)
	}
	return st
}

type item struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

type order struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TotalCents         int64  `json:"totalCents"`
	CancellationReason string `json:"cancellationReason"`
}

func (s *stack) place(t *testing.T, customer string, items ...item) order {
	t.Helper()
	var o order
	if code := call(t, http.MethodPost, s.orderURL+"/orders", map[string]any{"customerId": customer, "currency": "EUR", "items": items}, &o); code != 201 {
		t.Fatalf("POST /orders: %d", code)
	}
	return o
}

func (s *stack) order(t *testing.T, id string) order {
	t.Helper()
	var o order
	if code := call(t, http.MethodGet, s.orderURL+"/orders/"+id, nil, &o); code != 200 {
		t.Fatalf("GET order %s: %d", id, code)
	}
	return o
}

type payment struct {
	Status      string `json:"status"`
	AmountCents int64  `json:"amountCents"`
}

func (s *stack) payments(t *testing.T, orderID string) []payment {
	t.Helper()
	var list struct {
		Payments []payment `json:"payments"`
	}
	if code := call(t, http.MethodGet, s.paymentURL+"/payments?orderId="+orderID, nil, &list); code != 200 {
		t.Fatalf("GET payments %s: %d", orderID, code)
	}
	return list.Payments
}

// eventually polls cond with a deadline; it fails the test with the last
// thing cond reported.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, within, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *stack) waitStatus(t *testing.T, id, want string) order {
	t.Helper()
	var o order
	eventually(t, 60*time.Second, "order "+id+" "+want, func() (bool, string) {
		o = s.order(t, id)
		return o.Status == want, o.Status
	})
	return o
}

func (s *stack) waitBalance(t *testing.T, customer string, want int64) {
	t.Helper()
	eventually(t, 60*time.Second, "balance of "+customer, func() (bool, string) {
		b := s.balance(t, customer)
		return b == want, strconv.FormatInt(b, 10)
	})
}

func (s *stack) waitStock(t *testing.T, sku string, want stockLevel) {
	t.Helper()
	eventually(t, 60*time.Second, "stock of "+sku, func() (bool, string) {
		st := s.stock(t, sku)
		return st == want, fmt.Sprintf("%+v", st)
	})
}

// ---- the saga ----

func TestSaga(t *testing.T) {
	s := startStack(t)

	t.Run("happy path carries the caller's trace through every hop", func(t *testing.T) {
		s.setBalance(t, "happy", 10_000)
		s.setStock(t, "HAPPY-1", 5)
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		var o order
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.orderURL+"/orders",
			strings.NewReader(`{"customerId":"happy","currency":"EUR","items":[{"sku":"HAPPY-1","quantity":2,"unitPriceCents":1250}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /orders: %s %v", resp.Status, err)
		}
		resp.Body.Close()
		s.waitStatus(t, o.ID, "CONFIRMED")
		s.waitBalance(t, "happy", 7_500)
		s.waitStock(t, "HAPPY-1", stockLevel{Available: 3, Reserved: 2})

		// OrderCreated (written by the HTTP request) and the events the
		// other services wrote in reaction all carry the caller's trace id.
		for _, topic := range []string{"outbox.event.order", "outbox.event.payment", "outbox.event.inventory"} {
			recs, err := kafkatest.ConsumeUntil(s.broker, topic, 30*time.Second, func(rs []*kgo.Record) bool {
				for _, r := range rs {
					if string(r.Key) == o.ID {
						return true
					}
				}
				return false
			})
			if err != nil {
				t.Fatalf("%s: %v", topic, err)
			}
			for _, r := range recs {
				if string(r.Key) == o.ID && !strings.Contains(header(r, "traceparent"), traceID) {
					t.Errorf("%s %s: traceparent %q does not carry trace %s", topic, header(r, "eventType"), header(r, "traceparent"), traceID)
				}
			}
		}
	})

	t.Run("insufficient balance cancels and releases stock", func(t *testing.T) {
		s.setBalance(t, "poor", 100)
		s.setStock(t, "POOR-1", 5)
		o := s.place(t, "poor", item{"POOR-1", 1, 5_000})
		got := s.waitStatus(t, o.ID, "CANCELLED")
		if !strings.Contains(got.CancellationReason, "payment") {
			t.Errorf("cancellation reason %q does not name the payment", got.CancellationReason)
		}
		s.waitStock(t, "POOR-1", stockLevel{Available: 5, Reserved: 0})
		if b := s.balance(t, "poor"); b != 100 {
			t.Errorf("balance = %d, want 100 (never charged)", b)
		}
	})

	t.Run("out of stock cancels and refunds", func(t *testing.T) {
		s.setBalance(t, "unlucky", 10_000)
		s.setStock(t, "RARE-1", 1)
		o := s.place(t, "unlucky", item{"RARE-1", 3, 1_000})
		got := s.waitStatus(t, o.ID, "CANCELLED")
		if !strings.Contains(got.CancellationReason, "RARE-1") {
			t.Errorf("cancellation reason %q does not name the short SKU", got.CancellationReason)
		}
		s.waitBalance(t, "unlucky", 10_000)
		eventually(t, 60*time.Second, "refund", func() (bool, string) {
			ps := s.payments(t, o.ID)
			return len(ps) == 1 && ps[0].Status == "REFUNDED", fmt.Sprintf("%+v", ps)
		})
		s.waitStock(t, "RARE-1", stockLevel{Available: 1, Reserved: 0})
		s.checkTrace(t, o.ID, "OrderCancelled", "PaymentRefunded")
	})

	t.Run("OrderCreated delivered twice charges and reserves once", func(t *testing.T) {
		s.setBalance(t, "twice", 10_000)
		s.setStock(t, "TWICE-1", 10)
		o := s.place(t, "twice", item{"TWICE-1", 1, 2_000})
		s.waitStatus(t, o.ID, "CONFIRMED")
		recs, err := kafkatest.ConsumeUntil(s.broker, "outbox.event.order", 30*time.Second, func(rs []*kgo.Record) bool {
			for _, r := range rs {
				if string(r.Key) == o.ID && header(r, "eventType") == "OrderCreated" {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		var created *kgo.Record
		for _, r := range recs {
			if string(r.Key) == o.ID && header(r, "eventType") == "OrderCreated" {
				created = r
			}
		}
		dup := &kgo.Record{Topic: created.Topic, Partition: created.Partition, Key: created.Key, Value: created.Value, Headers: created.Headers}
		cl := kafkatest.Client(t, s.broker, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err := cl.ProduceSync(t.Context(), dup).FirstErr(); err != nil {
			t.Fatal(err)
		}
		adm := kadm.NewClient(kafkatest.Client(t, s.broker))
		for _, group := range []string{"payment-service", "inventory-service"} {
			eventually(t, 60*time.Second, group+" past the duplicate", func() (bool, string) {
				offs, err := adm.FetchOffsets(t.Context(), group)
				if err != nil {
					return false, err.Error()
				}
				o, ok := offs.Lookup(dup.Topic, dup.Partition)
				return ok && o.At > dup.Offset, fmt.Sprint(o.At)
			})
		}
		if ps := s.payments(t, o.ID); len(ps) != 1 {
			t.Fatalf("payments = %+v, want one", ps)
		}
		if b := s.balance(t, "twice"); b != 8_000 {
			t.Fatalf("balance = %d, want 8000 (charged once)", b)
		}
		if st := s.stock(t, "TWICE-1"); st != (stockLevel{Available: 9, Reserved: 1}) {
			t.Fatalf("stock = %+v, want one unit reserved", st)
		}
	})

	t.Run("200 concurrent orders on 5 SKUs", func(t *testing.T) {
		const orders, skus, perSKU = 200, 5, 40
		initial := map[string]int{}
		for i := range skus {
			sku := fmt.Sprintf("LOAD-%d", i)
			s.setStock(t, sku, perSKU)
			initial[sku] = perSKU
		}
		for c := range 20 {
			// Some customers can afford little, so payments fail too.
			s.setBalance(t, fmt.Sprintf("load-%d", c), int64(1_000+c*2_000))
		}
		type placed struct {
			id    string
			total int64
		}
		results := make(chan placed, orders)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range orders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				items := []item{{fmt.Sprintf("LOAD-%d", i%skus), 1 + i%3, 700}}
				if i%4 == 0 {
					items = append(items, item{fmt.Sprintf("LOAD-%d", (i+1)%skus), 1, 300})
				}
				var o order
				body := map[string]any{"customerId": fmt.Sprintf("load-%d", i%20), "currency": "EUR", "items": items}
				raw, _ := json.Marshal(body)
				resp, err := http.Post(s.orderURL+"/orders", "application/json", bytes.NewReader(raw))
				if err != nil {
					t.Errorf("POST /orders: %v", err)
					return
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("POST /orders: %s", resp.Status)
					return
				}
				if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
					t.Errorf("POST /orders: %v", err)
					return
				}
				results <- placed{o.ID, o.TotalCents}
			}()
		}
		wg.Wait()
		close(results)

		var confirmedTotal int64
		var ids []placed
		for p := range results {
			ids = append(ids, p)
		}
		if len(ids) != orders {
			t.Fatalf("placed %d orders, want %d", len(ids), orders)
		}
		confirmed := 0
		for _, p := range ids {
			var o order
			eventually(t, 2*time.Minute, "order "+p.id+" terminal", func() (bool, string) {
				o = s.order(t, p.id)
				return o.Status == "CONFIRMED" || o.Status == "CANCELLED", o.Status
			})
			if o.Status == "CONFIRMED" {
				confirmed++
				confirmedTotal += p.total
			}
		}
		// Compensations (releases, refunds) follow the cancellations.
		var charged int64
		eventually(t, 2*time.Minute, "compensations settled", func() (bool, string) {
			charged = 0
			for _, p := range ids {
				for _, pay := range s.payments(t, p.id) {
					if pay.Status == "CAPTURED" {
						charged += pay.AmountCents
					}
				}
			}
			var stockErr []string
			for sku, want := range initial {
				st := s.stock(t, sku)
				if st.Available < 0 || st.Reserved < 0 || st.Available+st.Reserved != want {
					stockErr = append(stockErr, fmt.Sprintf("%s %+v", sku, st))
				}
			}
			return charged == confirmedTotal && len(stockErr) == 0,
				fmt.Sprintf("charged %d, confirmed total %d, stock %v", charged, confirmedTotal, stockErr)
		})
		if confirmed == 0 || confirmed == orders {
			t.Fatalf("%d of %d orders confirmed: the load should confirm some and cancel some", confirmed, orders)
		}
		t.Logf("%d confirmed, %d cancelled, %d cents charged", confirmed, orders-confirmed, charged)
	})
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// failureLog returns a writer for the stack's log that the test prints
// only when it fails, once every component has stopped.
func failureLog(t *testing.T) io.Writer {
	w := &servicetest.LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack log:\n%s", w.String())
		}
	})
	return w
}
