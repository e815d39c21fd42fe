// Package stack is what outboxctl knows of a running order saga from the
// outside: where its three databases and its broker are, the services'
// consumer groups with the topics they read, and the reads of the broker
// and the databases that several commands share.
package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// Config says where the stack is.
type Config struct {
	// OrdersDB, PaymentsDB and InventoryDB are the connection strings of
	// the services' databases; a command that reads none may leave them
	// empty.
	OrdersDB, PaymentsDB, InventoryDB string
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// KafkaOptions are added to every Kafka client's options (TLS, SASL).
	KafkaOptions []kgo.Opt
}

// The services' databases, by the name Config and the reports use.
const (
	Orders    = "orders"
	Payments  = "payments"
	Inventory = "inventory"
)

// Databases lists the databases in the order a saga writes them.
var Databases = []string{Orders, Payments, Inventory}

// DSN returns the connection string of database db (Orders, Payments or
// Inventory), or "" for another name.
func (c Config) DSN(db string) string {
	switch db {
	case Orders:
		return c.OrdersDB
	case Payments:
		return c.PaymentsDB
	case Inventory:
		return c.InventoryDB
	}
	return ""
}

// Client returns a Kafka client for the stack's brokers with opts added.
func (c Config) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	all := append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...)}, c.KafkaOptions...)
	cl, err := kgo.NewClient(append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return cl, nil
}

// Group is one service's consumer group.
type Group struct {
	// Name is the group id (the services' DefaultKafkaGroup).
	Name string
	// Database holds the group's inbox table.
	Database string
	// Handles are the event types the service's Kafka mux handles; the
	// service subscribes to the topics that carry them and claims the
	// records of these types in its inbox. Records of other types on those
	// topics are acknowledged without a transaction and leave no inbox
	// row (libs/consumer Config.Types).
	Handles []string
}

// Topics returns the topics the group subscribes to.
func (g Group) Topics() []string { return events.TopicsOf(g.Handles...) }

// The services' consumer groups.
const (
	GroupOrder     = "order-service"
	GroupPayment   = "payment-service"
	GroupInventory = "inventory-service"
)

// Groups are the services' consumer groups with what their kafkaapi muxes
// handle: the order service reacts to the payment and inventory outcomes,
// the payment service charges on OrderCreated and refunds on
// OrderCancelled, the inventory service reserves on OrderCreated, commits
// on OrderConfirmed and releases on OrderCancelled.
var Groups = []Group{
	{Name: GroupOrder, Database: Orders, Handles: []string{
		events.TypePaymentCaptured, events.TypePaymentFailed, events.TypeInventoryReserved, events.TypeInventoryRejected,
	}},
	{Name: GroupPayment, Database: Payments, Handles: []string{events.TypeOrderCreated, events.TypeOrderCancelled}},
	{Name: GroupInventory, Database: Inventory, Handles: []string{
		events.TypeOrderCreated, events.TypeOrderCancelled, events.TypeOrderConfirmed,
	}},
}

// LookupGroup returns the service group named name.
func LookupGroup(name string) (Group, bool) {
	for _, g := range Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// ReadersOf returns the service groups that subscribe to topic.
func ReadersOf(topic string) []Group {
	var out []Group
	for _, g := range Groups {
		if slices.Contains(g.Topics(), topic) {
			out = append(out, g)
		}
	}
	return out
}

// RoutedTopics are the topics the connectors route outbox rows to.
var RoutedTopics = []string{events.TopicOrder, events.TopicPayment, events.TopicInventory}

// Partition returns the partition the producers put a record with key on,
// among n partitions: murmur2 of the key, as the Java client's default
// partitioner computes it. Debezium (Java) and walrelay
// (kgo.StickyKeyPartitioner) both place keyed records this way, and so does
// franz-go's default partitioner. key must not be nil: a record without a
// key has no fixed partition.
func Partition(key []byte, n int) int32 {
	if key == nil {
		key = []byte{}
	}
	return int32(kgo.StickyKeyPartitioner(nil).ForTopic("").Partition(&kgo.Record{Key: key}, n))
}

// Header returns the value of the first header named key, as libs/consumer
// reads headers, and whether there is one.
func Header(hs []kgo.RecordHeader, key string) (string, bool) {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// Canonical writes a UUID the way PostgreSQL's uuid::text does; anything
// else is returned as it is.
func Canonical(id string) string {
	if u, err := uuid.Parse(id); err == nil {
		return u.String()
	}
	return id
}

// ReadOnly runs read in one read-only REPEATABLE READ transaction on the
// database name (for messages) at dsn, so that everything read comes from
// one snapshot.
func ReadOnly(ctx context.Context, name, dsn string, read func(pgx.Tx) error) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("%s database: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("%s database: %w", name, err)
	}
	// Read-only: ending the transaction either way undoes nothing, and
	// closing the connection ends it when read fails.
	if err := read(tx); err != nil {
		return fmt.Errorf("%s database: %w", name, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		return fmt.Errorf("%s database: %w", name, err)
	}
	return nil
}
