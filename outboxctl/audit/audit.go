package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultGrace is how long a change may take to reach the next hop before
// the audit counts it missing: the grace period of the command line.
const DefaultGrace = 30 * time.Second

// Config says what to audit.
type Config struct {
	// OrdersDB, PaymentsDB and InventoryDB are the connection strings of
	// the three services' databases. The role needs SELECT on their
	// tables only.
	OrdersDB, PaymentsDB, InventoryDB string
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// Grace is how old a change must be before a missing next step counts
	// as a violation (see the package documentation). Zero expects every
	// change settled.
	Grace time.Duration
	// Seed, when not nil, holds the opening balances and stock levels the
	// money and stock equations start from.
	Seed *Seed
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KafkaOptions are added to the Kafka client's options (TLS, SASL,
	// timeouts).
	KafkaOptions []kgo.Opt
}

func (c Config) validate() error {
	var errs []error
	for _, db := range []struct{ name, dsn string }{
		{"orders", c.OrdersDB}, {"payments", c.PaymentsDB}, {"inventory", c.InventoryDB},
	} {
		if db.dsn == "" {
			errs = append(errs, fmt.Errorf("audit: no %s database", db.name))
		}
	}
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("audit: no Kafka brokers"))
	}
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("audit: grace %s is negative", c.Grace))
	}
	return errors.Join(errs...)
}

// Run reads the databases and the topics and checks them (see the package
// documentation). An error means something could not be read; broken
// invariants are in the Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	asOf := now().UTC()
	// Orders first: every payment and reservation row follows the order
	// that caused it, so a later snapshot of them never misses a cause.
	orders, err := loadOrders(ctx, cfg.OrdersDB)
	if err != nil {
		return nil, err
	}
	payments, err := loadPayments(ctx, cfg.PaymentsDB)
	if err != nil {
		return nil, err
	}
	inventory, err := loadInventory(ctx, cfg.InventoryDB)
	if err != nil {
		return nil, err
	}
	// The topics last: every event of a row read above is on them by now,
	// unless it is lost or still within the grace period.
	topics, err := readTopics(ctx, cfg.Brokers, cfg.KafkaOptions)
	if err != nil {
		return nil, err
	}
	a := &auditor{
		asOf:      asOf,
		cutoff:    asOf.Add(-cfg.Grace),
		seed:      cfg.Seed,
		orders:    orders,
		payments:  payments,
		inventory: inventory,
		topics:    topics,
		rep:       newReport(asOf, cfg.Grace, cfg.Seed),
	}
	a.check()
	return a.rep, nil
}
