package inbox

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Schema is the inbox table DDL for service migrations.
//
//go:embed schema.sql
var Schema string

// DefaultTable is the table name Schema creates.
const DefaultTable = "inbox"

// Outcome says how the group disposed of an event.
type Outcome string

const (
	// Processed means the handler's effects committed with the row.
	Processed Outcome = "processed"
	// DeadLettered means the event was sent to the dead-letter topic.
	DeadLettered Outcome = "dead_lettered"
)

// Meta describes the delivery being claimed. The zero Outcome means
// Processed.
type Meta struct {
	Topic     string
	Partition int32
	Offset    int64
	EventType string
	Outcome   Outcome
}

// ErrInvalidClaim is wrapped by Claim's error for a missing group or event
// id, or an unknown outcome.
var ErrInvalidClaim = errors.New("inbox: invalid claim")

// Claim records that group handles eventID, through tx. It reports
// claimed = false, and writes nothing, when the group already has a
// committed row for the event. table may be empty (meaning "inbox") or
// schema-qualified.
func Claim(ctx context.Context, tx pgx.Tx, table, group, eventID string, m Meta) (claimed bool, err error) {
	if group == "" || eventID == "" {
		return false, fmt.Errorf("%w: group and event id are required", ErrInvalidClaim)
	}
	switch m.Outcome {
	case "":
		m.Outcome = Processed
	case Processed, DeadLettered:
	default:
		return false, fmt.Errorf("%w: outcome %q", ErrInvalidClaim, m.Outcome)
	}
	if table == "" {
		table = DefaultTable
	}
	q := `INSERT INTO ` + pgx.Identifier(strings.Split(table, ".")).Sanitize() + `
  (consumer_group, event_id, kafka_topic, kafka_partition, kafka_offset, event_type, outcome)
VALUES ($1, $2::uuid, $3, $4, $5, $6, $7)
ON CONFLICT (consumer_group, event_id) DO NOTHING`
	tag, err := tx.Exec(ctx, q, group, eventID, m.Topic, m.Partition, m.Offset, m.EventType, string(m.Outcome))
	if err != nil {
		return false, fmt.Errorf("inbox: claim %s for %s in %s: %w", eventID, group, table, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Delivery is one event of a ClaimAll: its id and where it was read.
type Delivery struct {
	EventID   string
	Topic     string
	Partition int32
	Offset    int64
	EventType string
}

// ClaimAll is Claim for several deliveries in one statement, all with the
// outcome Processed: claimed[i] reports whether deliveries[i] is new to
// group, as Claim would for each in turn through tx. An event id given
// twice is claimed at most once, by its first delivery. Every id must be a
// UUID, or nothing is claimed and ClaimAll fails.
func ClaimAll(ctx context.Context, tx pgx.Tx, table, group string, deliveries []Delivery) (claimed []bool, err error) {
	b := &pgx.Batch{}
	if claimed, err = QueueClaimAll(b, table, group, deliveries); err != nil {
		return nil, err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return claimed, nil
}

// QueueClaimAll queues ClaimAll's statement on b, for a caller that sends
// it in one round trip with statements of its own, in b's order, through
// the transaction the claims belong to. claimed is filled in as ClaimAll's
// would be once b's results are read (its BatchResults closed without an
// error); until then every element is false. Deliveries ClaimAll would
// refuse queue nothing and fail here.
func QueueClaimAll(b *pgx.Batch, table, group string, deliveries []Delivery) (claimed []bool, err error) {
	if group == "" {
		return nil, fmt.Errorf("%w: group is required", ErrInvalidClaim)
	}
	if table == "" {
		table = DefaultTable
	}
	n := len(deliveries)
	ids, topics, parts, offsets, types := make([]pgtype.UUID, n), make([]string, n), make([]int32, n), make([]int64, n), make([]string, n)
	first := make(map[[16]byte]int, n) // event id -> its first delivery
	for i, d := range deliveries {
		u, err := uuid.Parse(d.EventID)
		if err != nil {
			return nil, fmt.Errorf("%w: event id %q: %w", ErrInvalidClaim, d.EventID, err)
		}
		if _, seen := first[u]; !seen {
			first[u] = i
		}
		ids[i] = pgtype.UUID{Bytes: u, Valid: true}
		topics[i], parts[i], offsets[i], types[i] = d.Topic, d.Partition, d.Offset, d.EventType
	}
	q := `INSERT INTO ` + pgx.Identifier(strings.Split(table, ".")).Sanitize() + `
  (consumer_group, event_id, kafka_topic, kafka_partition, kafka_offset, event_type, outcome)
SELECT $1, id, topic, part, off, typ, '` + string(Processed) + `'
FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[], $6::text[]) WITH ORDINALITY AS d(id, topic, part, off, typ, n)
ORDER BY n
ON CONFLICT (consumer_group, event_id) DO NOTHING
RETURNING event_id`
	claimed = make([]bool, n)
	b.Queue(q, group, ids, topics, parts, offsets, types).Query(func(rows pgx.Rows) error {
		var id pgtype.UUID
		if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			claimed[first[id.Bytes]] = true
			return nil
		}); err != nil {
			return fmt.Errorf("inbox: claim %d events for %s in %s: %w", n, group, table, err)
		}
		return nil
	})
	return claimed, nil
}

// Querier runs one query; a pool, a connection and a transaction are all
// Queriers.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Lookup reports how group disposed of eventID, with found = false when
// it has no committed row for it. table may be empty (meaning "inbox") or
// schema-qualified.
func Lookup(ctx context.Context, q Querier, table, group, eventID string) (outcome Outcome, found bool, err error) {
	if table == "" {
		table = DefaultTable
	}
	err = q.QueryRow(ctx, `SELECT outcome FROM `+pgx.Identifier(strings.Split(table, ".")).Sanitize()+`
WHERE consumer_group = $1 AND event_id = $2::uuid`, group, eventID).Scan(&outcome)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("inbox: look up %s for %s in %s: %w", eventID, group, table, err)
	}
	return outcome, true, nil
}

// Execer runs one statement; a pool and a connection are Execers.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Prune deletes group's rows received before before, in batches of at most
// batch rows, each batch its own short statement, so concurrent claims
// never wait long behind it. It returns how many rows it deleted. A
// duplicate of a pruned event would take effect again: before must lie
// further back than any redelivery.
func Prune(ctx context.Context, db Execer, table, group string, before time.Time, batch int) (int64, error) {
	if table == "" {
		table = DefaultTable
	}
	if batch <= 0 {
		batch = 1000
	}
	q := `DELETE FROM ` + pgx.Identifier(strings.Split(table, ".")).Sanitize() + ` WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM ` + pgx.Identifier(strings.Split(table, ".")).Sanitize() + `
  WHERE consumer_group = $1 AND received_at < $2 LIMIT $3 FOR UPDATE SKIP LOCKED))`
	var total int64
	for {
		tag, err := db.Exec(ctx, q, group, before, batch)
		if err != nil {
			return total, fmt.Errorf("inbox: prune %s for %s: %w", table, group, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}
