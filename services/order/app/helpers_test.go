package app_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/order/app"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
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
	*ordertest.Env
	t      *testing.T
	app    *service.Service
	db     *pgxpool.Pool
	broker string
}

func start(t *testing.T) *env { t.Helper(); return startWith(t, nil) }

// startWith is start with cfg changed by change, when not nil.
func startWith(t *testing.T, change func(*service.Config)) *env {
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
	if change != nil {
		change(&cfg)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := servicetest.Start(t, app.Start, cfg, log)
	db, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return &env{Env: ordertest.New(t, "http://"+a.Addr(), db), t: t, app: a, db: db, broker: broker}
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
func (e *env) waitOrder(id string, what string, cond func(ordertest.Order) bool) ordertest.Order {
	e.t.Helper()
	var o ordertest.Order
	eventually(e.t, "order "+id+": "+what, func() (bool, string) {
		o = e.Get(id)
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

// in returns the env bound to t, for subtests: failures must be reported
// on the goroutine of the test that fails.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t, c.Env = t, e.Env.In(t)
	return &c
}
