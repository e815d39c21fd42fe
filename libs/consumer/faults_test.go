package consumer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// commitLosingProxy forwards PostgreSQL connections. Once armed, it lets
// the next COMMIT reach the server, waits for the server's answer, then
// closes both sides without passing the answer on: the transaction has
// committed, and the client sees a broken connection.
type commitLosingProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	lost   atomic.Int32
	wg     sync.WaitGroup
}

func startCommitLosingProxy(t *testing.T, target string) *commitLosingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitLosingProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// dsn rewrites dsn's host and port to the proxy's.
func (p *commitLosingProxy) dsn(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func (p *commitLosingProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	lose := make(chan struct{}) // closed when a COMMIT went to the server and its answer must be lost
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			select {
			case <-lose:
				// The server answered the COMMIT: drop the answer.
				p.lost.Add(1)
				client.Close()
				return
			default:
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	// Client to server, message by message: the startup message has no
	// type byte, every later one has.
	startup := true
	for {
		var msg []byte
		if startup {
			var hdr [4]byte
			if _, err := io.ReadFull(client, hdr[:]); err != nil {
				break
			}
			body := make([]byte, binary.BigEndian.Uint32(hdr[:])-4)
			if _, err := io.ReadFull(client, body); err != nil {
				break
			}
			msg, startup = append(hdr[:], body...), false
		} else {
			var hdr [5]byte
			if _, err := io.ReadFull(client, hdr[:]); err != nil {
				break
			}
			body := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
			if _, err := io.ReadFull(client, body); err != nil {
				break
			}
			msg = append(hdr[:], body...)
			if hdr[0] == 'Q' && bytes.HasPrefix(bytes.ToLower(body), []byte("commit")) && p.armed.CompareAndSwap(true, false) {
				close(lose)
			}
		}
		if _, err := server.Write(msg); err != nil {
			break
		}
	}
	server.Close()
	<-done
}

// testLostCommitAnswerIsNotDeadLettered: the last attempt's commit takes
// place but its answer is lost. The runtime must find the event in the
// inbox and call it processed, not dead-letter an event whose effect
// happened.
func testLostCommitAnswerIsNotDeadLettered(t *testing.T, e *env) {
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCommitLosingProxy(t, u.Host)
	pool, err := pgxpool.New(t.Context(), proxy.dsn(t, e.dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	id := newID()
	kafkatest.Produce(t, e.addr, e.topic, event("order-1", id, "OrderCreated", "1"))
	var c calls
	cfg := e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		if c.add(ev.ID) == 1 {
			proxy.armed.Store(true)
		}
		return insertEffect(ctx, tx, ev, "")
	})
	cfg.Pool = pool
	cfg.MaxAttempts = 1 // the lost commit is the last attempt
	r := e.start(cfg)
	waitFor(t, 30*time.Second, "the event committed and its offset too", func() bool {
		return e.count(`SELECT count(*) FROM inbox WHERE outcome = 'processed'`) == 1 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if proxy.lost.Load() != 1 {
		t.Fatalf("the proxy lost %d commit answers, want 1", proxy.lost.Load())
	}
	if n := e.count(`SELECT count(*) FROM effects`); n != 1 {
		t.Fatalf("effects = %d, want 1", n)
	}
	if n := e.logs.count("the commit reported an error but took place; the event is processed, not dead-lettered"); n != 1 {
		t.Fatalf("lost-commit log lines = %d, want 1", n)
	}
	if n, ok := e.recordsOK(e.topic + ".dlq"); ok && n != 0 {
		t.Fatalf("dead-letter topic has %d records; the event's effect took place", n)
	}
	if c.get(id) != 1 {
		t.Fatalf("handler ran %d times, want 1", c.get(id))
	}
}

// testDeadLetterTooLargeForTheBrokerMovesOn: a poison record that the
// source topic accepts but its dead-letter topic refuses for its size goes
// to the dead-letter topic without its value, with the reason, and the
// partition moves on instead of retrying that produce forever.
func testDeadLetterTooLargeForTheBrokerMovesOn(t *testing.T, e *env) {
	const big = 3 << 20 // over the dead-letter topic's (and producer's) 1 MiB default
	if _, err := e.adm.AlterTopicConfigs(t.Context(), []kadm.AlterConfig{{Name: "max.message.bytes", Value: kadm.StringPtr("8388608")}}, e.topic); err != nil {
		t.Fatal(err)
	}
	poison, next := newID(), newID()
	cl := kafkatest.Client(t, e.addr, kgo.ProducerBatchMaxBytes(8<<20), kgo.MaxBufferedBytes(64<<20))
	rec := event("order-1", poison, "Permanent", strings.Repeat("x", big))
	rec.Topic = e.topic
	if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
		t.Fatalf("produce the large record to its source topic: %v", err)
	}
	kafkatest.Produce(t, e.addr, e.topic, event("order-1", next, "OrderCreated", "1"))

	cfg := e.config(e.group("payment"), consumer.Mux{
		"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error { return insertEffect(ctx, tx, ev, "") },
		"Permanent": func(context.Context, pgx.Tx, consumer.Event) error {
			return consumer.Permanent(errors.New("no such product"))
		},
	}.Handle)
	cfg.ClientOpts = append(cfg.ClientOpts, kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(16<<20))
	r := e.start(cfg)
	waitFor(t, 60*time.Second, "the record after the large poison one handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) == 1 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	dead := kafkatest.Consume(t, e.addr, e.topic+consumer.DLQSuffix, 1, 30*time.Second)
	d := dead[0]
	header := func(k string) string {
		for _, h := range d.Headers {
			if h.Key == k {
				return string(h.Value)
			}
		}
		return ""
	}
	if len(d.Value) != 0 || string(d.Key) != "order-1" || header("id") != poison || !strings.Contains(header(consumer.HeaderDLQError), "no such product") ||
		!strings.Contains(header(consumer.HeaderDLQValueDropped), fmt.Sprintf("value of %d bytes", big)) {
		t.Fatalf("dead letter: key %q, %d value bytes, headers %v", d.Key, len(d.Value), d.Headers)
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered' AND event_id = $1`, poison); n != 1 {
		t.Fatalf("dead-lettered inbox rows = %d, want 1", n)
	}
}

// testInboxRowsOlderThanTheRetentionArePruned: a running consumer deletes
// its group's inbox rows older than the retention, and keeps the rest.
func testInboxRowsOlderThanTheRetentionArePruned(t *testing.T, e *env) {
	old, fresh := newID(), newID()
	kafkatest.Produce(t, e.addr, e.topic, event("order-1", old, "OrderCreated", "1"), event("order-1", fresh, "OrderCreated", "2"))
	cfg := e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		return insertEffect(ctx, tx, ev, "")
	})
	cfg.InboxRetention = 24 * time.Hour
	cfg.InboxPruneInterval = 50 * time.Millisecond
	r := e.start(cfg)
	waitFor(t, 30*time.Second, "both events handled", func() bool { return e.count(`SELECT count(*) FROM inbox`) == 2 })
	if _, err := e.pool.Exec(t.Context(), `UPDATE inbox SET received_at = now() - interval '25 hours' WHERE event_id = $1`, old); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the old inbox row pruned", func() bool {
		return e.count(`SELECT count(*) FROM inbox WHERE event_id = $1`, old) == 0
	})
	r.stop(t)
	if n := e.count(`SELECT count(*) FROM inbox WHERE event_id = $1`, fresh); n != 1 {
		t.Fatalf("the fresh inbox row is gone (%d rows)", n)
	}
}
