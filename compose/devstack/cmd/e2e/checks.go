package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	topicOrder    = "outbox.event.order"
	topicOrderDLQ = "outbox.event.order.dlq"
)

type suite struct {
	orderURL, paymentURL, inventoryURL string
	brokers                            []string
	run                                string // unique suffix of this run's customers and SKUs
	http                               *http.Client
	kafka                              *kgo.Client
}

func newSuite(getenv func(string) string, timeout time.Duration) (*suite, error) {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return strings.TrimRight(v, "/")
		}
		return def
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s := &suite{
		orderURL:     or("ORDER_URL", "http://127.0.0.1:8080"),
		paymentURL:   or("PAYMENT_URL", "http://127.0.0.1:8081"),
		inventoryURL: or("INVENTORY_URL", "http://127.0.0.1:8082"),
		brokers:      strings.Split(or("KAFKA_BROKERS", "127.0.0.1:9092"), ","),
		run:          hex.EncodeToString(b),
		http:         &http.Client{Timeout: 10 * time.Second},
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.RequestRetries(5))
	if err != nil {
		return nil, err
	}
	s.kafka = cl
	return s, nil
}

func (s *suite) close() { s.kafka.Close() }

func (s *suite) name(kind string) string { return fmt.Sprintf("e2e-%s-%s", kind, s.run) }

// ---- HTTP helpers ----

type order struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	CancellationReason string `json:"cancellationReason"`
	TotalCents         int64  `json:"totalCents"`
}

type item struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

func (s *suite) do(ctx context.Context, method, url string, body any, header map[string]string, into any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if into != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, into); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding %s: %w", method, url, raw, err)
		}
	}
	if resp.StatusCode/100 != 2 && into != nil {
		return resp.StatusCode, fmt.Errorf("%s %s answered %d: %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

func (s *suite) setBalance(ctx context.Context, customer string, cents int64) error {
	_, err := s.do(ctx, http.MethodPut, s.paymentURL+"/accounts/"+customer, map[string]int64{"balanceCents": cents}, nil, &map[string]any{})
	return err
}

func (s *suite) balance(ctx context.Context, customer string) (int64, error) {
	var acc struct {
		BalanceCents int64 `json:"balanceCents"`
	}
	_, err := s.do(ctx, http.MethodGet, s.paymentURL+"/accounts/"+customer, nil, nil, &acc)
	return acc.BalanceCents, err
}

type stock struct {
	Available int `json:"available"`
	Reserved  int `json:"reserved"`
}

func (s *suite) setStock(ctx context.Context, sku string, available int) error {
	_, err := s.do(ctx, http.MethodPut, s.inventoryURL+"/stock/"+sku, map[string]int{"available": available}, nil, &map[string]any{})
	return err
}

func (s *suite) stock(ctx context.Context, sku string) (stock, error) {
	var st stock
	_, err := s.do(ctx, http.MethodGet, s.inventoryURL+"/stock/"+sku, nil, nil, &st)
	return st, err
}

type payment struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	AmountCents int64  `json:"amountCents"`
}

// payments lists the payments of an order; the API may answer a bare array
// or an object with a "payments" array.
func (s *suite) payments(ctx context.Context, orderID string) ([]payment, error) {
	var raw json.RawMessage
	if _, err := s.do(ctx, http.MethodGet, s.paymentURL+"/payments?orderId="+orderID, nil, nil, &raw); err != nil {
		return nil, err
	}
	var list []payment
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var wrapped struct {
		Payments []payment `json:"payments"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("payments response %s: %w", raw, err)
	}
	return wrapped.Payments, nil
}

func (s *suite) placeOrder(ctx context.Context, customer string, items []item, key string) (order, int, error) {
	var o order
	hdr := map[string]string{}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	code, err := s.do(ctx, http.MethodPost, s.orderURL+"/orders",
		map[string]any{"customerId": customer, "currency": "EUR", "items": items}, hdr, &o)
	return o, code, err
}

func (s *suite) getOrder(ctx context.Context, id string) (order, error) {
	var o order
	_, err := s.do(ctx, http.MethodGet, s.orderURL+"/orders/"+id, nil, nil, &o)
	return o, err
}

// eventually polls cond until it returns nil or ctx ends; the error says
// what was last seen.
func eventually(ctx context.Context, what string, cond func() error) error {
	var last error
	for {
		if last = cond(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *suite) waitStatus(ctx context.Context, id, want string) (order, error) {
	var o order
	err := eventually(ctx, "order "+id+" to become "+want, func() error {
		var err error
		if o, err = s.getOrder(ctx, id); err != nil {
			return err
		}
		if o.Status != want {
			return fmt.Errorf("status %s", o.Status)
		}
		return nil
	})
	return o, err
}

func (s *suite) waitBalance(ctx context.Context, customer string, want int64) error {
	return eventually(ctx, "balance of "+customer, func() error {
		b, err := s.balance(ctx, customer)
		if err != nil {
			return err
		}
		if b != want {
			return fmt.Errorf("balance %d, want %d", b, want)
		}
		return nil
	})
}

func (s *suite) waitStock(ctx context.Context, sku string, want stock) error {
	return eventually(ctx, "stock of "+sku, func() error {
		st, err := s.stock(ctx, sku)
		if err != nil {
			return err
		}
		if st != want {
			return fmt.Errorf("stock %+v, want %+v", st, want)
		}
		return nil
	})
}

// ---- checks ----

func (s *suite) confirmedOrder(ctx context.Context) error { return s.confirmed(ctx, "1") }

// confirmed places an affordable order for stock that exists, under names
// tagged with tag, and expects it confirmed, charged and reserved.
func (s *suite) confirmed(ctx context.Context, tag string) error {
	cust, sku := s.name("c"+tag), s.name("sku"+tag)
	if err := errors.Join(s.setBalance(ctx, cust, 10_000), s.setStock(ctx, sku, 10)); err != nil {
		return err
	}
	o, _, err := s.placeOrder(ctx, cust, []item{{sku, 2, 1_500}}, "")
	if err != nil {
		return err
	}
	if _, err := s.waitStatus(ctx, o.ID, "CONFIRMED"); err != nil {
		return err
	}
	return errors.Join(s.waitBalance(ctx, cust, 7_000), s.waitStock(ctx, sku, stock{Available: 8, Reserved: 2}))
}

func (s *suite) insufficientBalance(ctx context.Context) error {
	cust, sku := s.name("c2"), s.name("sku2")
	if err := errors.Join(s.setBalance(ctx, cust, 100), s.setStock(ctx, sku, 5)); err != nil {
		return err
	}
	o, _, err := s.placeOrder(ctx, cust, []item{{sku, 1, 5_000}}, "")
	if err != nil {
		return err
	}
	got, err := s.waitStatus(ctx, o.ID, "CANCELLED")
	if err != nil {
		return err
	}
	if got.CancellationReason == "" {
		return errors.New("cancelled order has no cancellation reason")
	}
	return errors.Join(s.waitStock(ctx, sku, stock{Available: 5, Reserved: 0}), s.waitBalance(ctx, cust, 100))
}

func (s *suite) missingStock(ctx context.Context) error {
	cust, sku := s.name("c3"), s.name("sku3")
	if err := errors.Join(s.setBalance(ctx, cust, 10_000), s.setStock(ctx, sku, 1)); err != nil {
		return err
	}
	o, _, err := s.placeOrder(ctx, cust, []item{{sku, 3, 1_000}}, "")
	if err != nil {
		return err
	}
	if _, err := s.waitStatus(ctx, o.ID, "CANCELLED"); err != nil {
		return err
	}
	if err := s.waitBalance(ctx, cust, 10_000); err != nil {
		return err
	}
	return eventually(ctx, "payment of "+o.ID+" to be refunded", func() error {
		ps, err := s.payments(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(ps) != 1 || ps[0].Status != "REFUNDED" {
			return fmt.Errorf("payments %+v, want one REFUNDED", ps)
		}
		return nil
	})
}

func (s *suite) idempotencyReplay(ctx context.Context) error {
	cust, sku := s.name("c4"), s.name("sku4")
	key := s.name("key")
	items := []item{{sku, 1, 100}}
	first, code, err := s.placeOrder(ctx, cust, items, key)
	if err != nil {
		return err
	}
	if code != http.StatusCreated {
		return fmt.Errorf("first POST answered %d, want 201", code)
	}
	again, code, err := s.placeOrder(ctx, cust, items, key)
	if err != nil {
		return err
	}
	if code != http.StatusOK || again.ID != first.ID {
		return fmt.Errorf("replay answered %d with order %s, want 200 with %s", code, again.ID, first.ID)
	}
	_, code, _ = s.placeOrder(ctx, cust, []item{{sku, 2, 100}}, key)
	if code != http.StatusConflict {
		return fmt.Errorf("same key with another body answered %d, want 409", code)
	}
	return nil
}

func (s *suite) duplicateOrderCreated(ctx context.Context) error {
	cust, sku := s.name("c5"), s.name("sku5")
	if err := errors.Join(s.setBalance(ctx, cust, 10_000), s.setStock(ctx, sku, 10)); err != nil {
		return err
	}
	o, _, err := s.placeOrder(ctx, cust, []item{{sku, 1, 2_500}}, "")
	if err != nil {
		return err
	}
	if _, err := s.waitStatus(ctx, o.ID, "CONFIRMED"); err != nil {
		return err
	}
	created, err := s.findRecord(ctx, topicOrder, func(r *kgo.Record) bool {
		return string(r.Key) == o.ID && header(r, "eventType") == "OrderCreated"
	})
	if err != nil {
		return err
	}
	dup := &kgo.Record{Topic: topicOrder, Partition: created.Partition, Key: created.Key, Value: created.Value, Headers: created.Headers}
	manual, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer manual.Close()
	if err := manual.ProduceSync(ctx, dup).FirstErr(); err != nil {
		return fmt.Errorf("re-producing OrderCreated: %w", err)
	}
	// Wait until the payment service's group has consumed past the copy,
	// then the charge must still be single.
	if err := s.waitConsumed(ctx, "payment-service", topicOrder, dup.Partition, dup.Offset); err != nil {
		return err
	}
	ps, err := s.payments(ctx, o.ID)
	if err != nil {
		return err
	}
	if len(ps) != 1 {
		return fmt.Errorf("payments after the duplicate: %+v, want exactly one", ps)
	}
	return s.waitBalance(ctx, cust, 7_500)
}

func (s *suite) garbageToDLQ(ctx context.Context) error {
	garbage := []byte("not json {" + s.run)
	if err := s.kafka.ProduceSync(ctx, &kgo.Record{Topic: topicOrder, Key: []byte(s.name("garbage")), Value: garbage}).FirstErr(); err != nil {
		return fmt.Errorf("producing garbage: %w", err)
	}
	dead, err := s.findRecord(ctx, topicOrderDLQ, func(r *kgo.Record) bool { return bytes.Equal(r.Value, garbage) })
	if err != nil {
		return err
	}
	if header(dead, "dlq.error") == "" {
		return fmt.Errorf("dead-lettered record has no dlq.error header (headers %v)", dead.Headers)
	}
	return s.confirmed(ctx, "6")
}

// ---- Kafka helpers ----

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// findRecord reads topic from the start until match holds for a record.
func (s *suite) findRecord(ctx context.Context, topic string, match func(*kgo.Record) bool) (*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no matching record on %s: %w", topic, ctx.Err())
		}
		var found *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if found == nil && match(r) {
				found = r
			}
		})
		if found != nil {
			return found, nil
		}
	}
}

// waitConsumed waits until group has committed an offset past offset on
// topic/partition.
func (s *suite) waitConsumed(ctx context.Context, group, topic string, partition int32, offset int64) error {
	adm := kadm.NewClient(s.kafka)
	return eventually(ctx, fmt.Sprintf("group %s to consume %s/%d@%d", group, topic, partition, offset), func() error {
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		o, ok := offs.Lookup(topic, partition)
		if !ok || o.At <= offset {
			return fmt.Errorf("committed %v (found %v)", o.At, ok)
		}
		return nil
	})
}
