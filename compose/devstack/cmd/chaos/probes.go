package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// probes sends bad input into the stack and checks, at the end, that it
// was handled: poison records dead-lettered with a reason, malformed
// requests answered 4xx, slow clients cut off.
type probes struct {
	run     string
	kafka   *kgo.Client
	brokers []string
	client  *http.Client
	service map[string]string // service name -> host:port

	mu          sync.Mutex
	poisoned    []poisonRecord
	violations  []string
	unreachable int // malformed requests that found the service restarting
	slowWG      sync.WaitGroup
}

// Record headers that mark the run's poison, kept by the dead letter.
const (
	headerRun    = "chaos.run"
	headerPoison = "chaos.poison"
)

// Poison kinds. Every group reading the topic must dead-letter the first
// two; the third is a valid envelope with an invalid payload for a type at
// least one group handles.
const (
	poisonNoID = iota
	poisonBadID
	poisonBadPayload
	poisonKinds
)

type poisonRecord struct {
	index     int
	kind      int
	topic     string
	partition int32
	offset    int64
}

func (p *probes) violate(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.violations = append(p.violations, fmt.Sprintf(format, args...))
}

// poison produces n poison records spread over the three routed topics.
func (p *probes) poison(ctx context.Context, n int) (int, error) {
	topics := []struct{ topic, typ string }{
		{events.TopicOrder, events.TypeOrderCreated},
		{events.TopicPayment, events.TypePaymentCaptured},
		{events.TopicInventory, events.TypeInventoryReserved},
	}
	var rs []*kgo.Record
	for i := range n {
		t := topics[i%len(topics)]
		kind := (i / len(topics)) % poisonKinds
		r := &kgo.Record{
			Topic: t.topic,
			Key:   []byte(fmt.Sprintf("chaos-%s-poison-%d", p.run, i)),
			Headers: []kgo.RecordHeader{
				{Key: headerRun, Value: []byte(p.run)},
				{Key: headerPoison, Value: []byte(strconv.Itoa(i))},
			},
		}
		switch kind {
		case poisonNoID:
			r.Value = []byte("\x00not json {" + p.run)
		case poisonBadID:
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: consumer.HeaderID, Value: []byte("not-a-uuid")},
				kgo.RecordHeader{Key: consumer.HeaderEventType, Value: []byte(t.typ)})
			r.Value = []byte(`{}`)
		case poisonBadPayload:
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: consumer.HeaderID, Value: []byte(newUUID())},
				kgo.RecordHeader{Key: consumer.HeaderEventType, Value: []byte(t.typ)})
			r.Value = []byte(`{"chaos": "not this event's shape"}`)
		}
		rs = append(rs, r)
	}
	// The broker may be restarting: produce with retries until the
	// deadline, then report what did not make it.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	results := p.kafka.ProduceSync(pctx, rs...)
	var errs []error
	for _, res := range results { // in the order the broker acknowledged them
		if res.Err != nil {
			errs = append(errs, res.Err)
			continue
		}
		i, _ := strconv.Atoi(header(res.Record, headerPoison))
		p.mu.Lock()
		p.poisoned = append(p.poisoned, poisonRecord{index: i, kind: (i / len(topics)) % poisonKinds,
			topic: res.Record.Topic, partition: res.Record.Partition, offset: res.Record.Offset})
		p.mu.Unlock()
	}
	return len(results) - len(errs), errors.Join(errs...)
}

// checkDeadLetters reports the poison records not yet dead-lettered as
// they must be: by every group that consumed past them, or (invalid
// payloads) by at least one. It returns nil once all are.
func (p *probes) checkDeadLetters(ctx context.Context) error {
	p.mu.Lock()
	poisoned := slices.Clone(p.poisoned)
	p.mu.Unlock()
	if len(poisoned) == 0 {
		return nil
	}
	adm := kadm.NewClient(p.kafka)
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		return err
	}
	// committed[group][topic][partition]
	committed := map[string]kadm.OffsetResponses{}
	for _, g := range groups.Groups() {
		offs, err := adm.FetchOffsets(ctx, g)
		if err != nil {
			return err
		}
		committed[g] = offs
	}
	dead, err := p.deadLettered(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, pr := range poisoned {
		var readers, without []string
		for g, offs := range committed {
			o, ok := offs.Lookup(pr.topic, pr.partition)
			if !ok {
				continue
			}
			if o.At <= pr.offset {
				missing = append(missing, fmt.Sprintf("group %s has not consumed poison %s/%d@%d yet (committed %d)", g, pr.topic, pr.partition, pr.offset, o.At))
				continue
			}
			readers = append(readers, g)
			if !dead[pr.index][g] {
				without = append(without, g)
			}
		}
		switch {
		case len(readers) == 0:
			missing = append(missing, fmt.Sprintf("no group has consumed poison %s/%d@%d", pr.topic, pr.partition, pr.offset))
		case pr.kind == poisonBadPayload && len(without) == len(readers):
			missing = append(missing, fmt.Sprintf("poison %s/%d@%d (invalid payload) dead-lettered by no group", pr.topic, pr.partition, pr.offset))
		case pr.kind != poisonBadPayload && len(without) > 0:
			missing = append(missing, fmt.Sprintf("poison %s/%d@%d not dead-lettered by %s", pr.topic, pr.partition, pr.offset, strings.Join(without, ", ")))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d problems, first: %s", len(missing), missing[0])
	}
	return nil
}

// deadLettered reads the dead-letter topics and returns, per poison index
// of this run, the groups that dead-lettered it with a reason.
func (p *probes) deadLettered(ctx context.Context) (map[int]map[string]bool, error) {
	adm := kadm.NewClient(p.kafka)
	topics := []string{events.TopicOrder + consumer.DLQSuffix, events.TopicPayment + consumer.DLQSuffix, events.TopicInventory + consumer.DLQSuffix}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	want := map[string]map[int32]kgo.EpochOffset{}
	parts := map[string]map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset == 0 {
			return
		}
		if want[o.Topic] == nil {
			want[o.Topic], parts[o.Topic] = map[int32]kgo.EpochOffset{}, map[int32]kgo.Offset{}
		}
		want[o.Topic][o.Partition] = kgo.EpochOffset{Offset: o.Offset}
		parts[o.Topic][o.Partition] = kgo.NewOffset().AtStart()
	})
	dead := map[int]map[string]bool{}
	if len(parts) == 0 {
		return dead, nil
	}
	// Control records take offsets too: seeing them lets a partition that
	// ends with a transaction marker reach its end offset.
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.brokers...), kgo.ConsumePartitions(parts),
		kgo.KeepControlRecords(), kgo.FetchMaxWait(250*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(want) > 0 {
		fs := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return nil, fmt.Errorf("reading the dead-letter topics: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Topic][r.Partition]; ok && r.Offset+1 >= end.Offset {
				delete(want[r.Topic], r.Partition)
				if len(want[r.Topic]) == 0 {
					delete(want, r.Topic)
				}
			}
			if r.Attrs.IsControl() || header(r, headerRun) != p.run || header(r, consumer.HeaderDLQError) == "" {
				return
			}
			i, err := strconv.Atoi(header(r, headerPoison))
			if err != nil {
				return
			}
			if dead[i] == nil {
				dead[i] = map[string]bool{}
			}
			dead[i][header(r, consumer.HeaderDLQGroup)] = true
		})
	}
	return dead, nil
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// malformed are requests every service must refuse with a 4xx before
// touching its database, whatever state the stack is in.
var malformed = map[string][]struct{ method, path, contentType, body string }{
	"order": {
		{http.MethodPost, "/orders", "application/json", `{"customerId":`},
		{http.MethodPost, "/orders", "application/json", `{"customerId":"c","currency":"EUR","items":[]}`},
		{http.MethodPost, "/orders", "application/json", `{"customerId":"c","currency":"EUR","items":[{"sku":"s","quantity":-1,"unitPriceCents":1}]}`},
		{http.MethodPost, "/orders", "application/json", `[1, 2, 3]`},
		{http.MethodGet, "/orders/%00", "", ""},
		{http.MethodGet, "/orders?limit=-5", "", ""},
	},
	"payment": {
		{http.MethodPut, "/accounts/%00", "application/json", `{"balanceCents": 1}`},
		{http.MethodPut, "/accounts/x", "application/json", `{"balanceCents": -5}`},
		{http.MethodPut, "/accounts/x", "application/json", `{"balanceCents": "lots"}`},
	},
	"inventory": {
		{http.MethodPut, "/stock/%00", "application/json", `{"available": 1}`},
		{http.MethodPut, "/stock/x", "application/json", `{"available": -1}`},
		{http.MethodPut, "/stock/x", "application/json", `{"available":`},
	},
}

// http sends malformed requests to every service and starts slow clients,
// which run on; finish waits for them.
func (p *probes) http(ctx context.Context, perService, slow int) (sent, slowStarted int) {
	for name, reqs := range malformed {
		base := "http://" + p.service[name]
		for i := range perService {
			r := reqs[i%len(reqs)]
			req, err := http.NewRequestWithContext(ctx, r.method, base+r.path, strings.NewReader(r.body))
			if err != nil {
				p.violate("building %s %s: %v", r.method, r.path, err)
				continue
			}
			if r.contentType != "" {
				req.Header.Set("Content-Type", r.contentType)
			}
			sent++
			resp, err := p.client.Do(req)
			if err != nil {
				p.mu.Lock()
				p.unreachable++
				p.mu.Unlock()
				continue
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode/100 != 4 || !bytes.Contains(body, []byte(`"error"`)) {
				p.violate("%s %s %s answered %d %s; want a 4xx with a JSON error", name, r.method, r.path, resp.StatusCode, bytes.TrimSpace(body))
			}
		}
		for range slow {
			slowStarted++
			p.slowWG.Add(1)
			go p.slowClient(ctx, name, p.service[name])
		}
	}
	return sent, slowStarted
}

// slowClient sends half a request header and waits for the server to cut
// it off, which it must do within its header timeout.
func (p *probes) slowClient(ctx context.Context, name, addr string) {
	defer p.slowWG.Done()
	const limit = 20 * time.Second // the services' read-header timeout is 5 s
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		p.mu.Lock()
		p.unreachable++
		p.mu.Unlock()
		return
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte("POST /orders HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: app")); err != nil {
		return
	}
	_ = c.SetReadDeadline(start.Add(limit))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		p.violate("%s kept a slow client's half header open for %s", name, limit)
	}
}

// finish waits for the slow clients to be cut off.
func (p *probes) finish() { p.slowWG.Wait() }
