package replication

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
)

// MinServerVersion is the oldest PostgreSQL the relay streams from
// (server_version_num): pgoutput's messages option needs 14.
const MinServerVersion = 140000

// ErrServer reports a server that cannot serve a pgoutput stream.
var ErrServer = errors.New("replication: server not usable")

// CheckServer verifies that the server runs wal_level=logical and is at
// least MinServerVersion, and returns server_version_num.
func CheckServer(ctx context.Context, conn *pgx.Conn) (int, error) {
	const q = `SELECT current_setting('wal_level'), current_setting('server_version_num')::int`
	var level string
	var version int
	if err := conn.QueryRow(ctx, q).Scan(&level, &version); err != nil {
		return 0, fmt.Errorf("replication: check server: %w", err)
	}
	if level != "logical" {
		return version, fmt.Errorf("%w: wal_level is %q; logical replication needs wal_level = logical (postgresql.conf, then restart the server)", ErrServer, level)
	}
	if version < MinServerVersion {
		return version, fmt.Errorf("%w: PostgreSQL server_version_num %d is older than %d", ErrServer, version, MinServerVersion)
	}
	return version, nil
}

// Table is a table of the database.
type Table struct {
	OID    uint32
	Schema string
	Name   string
}

// String is "schema.name", the form include/exclude lists match.
func (t Table) String() string { return t.Schema + "." + t.Name }

// Ident is the quoted, schema-qualified SQL name.
func (t Table) Ident() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

// Tables lists the ordinary and partitioned tables outside the system
// schemas, ordered by schema and name.
func Tables(ctx context.Context, conn *pgx.Conn) ([]Table, error) {
	const q = `
SELECT c.oid, n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY n.nspname, c.relname`
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("replication: list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Table, error) {
		var t Table
		err := r.Scan(&t.OID, &t.Schema, &t.Name)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("replication: list tables: %w", err)
	}
	return tables, nil
}

// PublicationMode says how EnsurePublication treats the publication
// (Debezium's publication.autocreate.mode).
type PublicationMode string

// Publication modes.
const (
	// PublicationAllTables creates FOR ALL TABLES when missing.
	PublicationAllTables PublicationMode = "all_tables"
	// PublicationFiltered creates FOR TABLE <tables> when missing and sets
	// the table list when it differs.
	PublicationFiltered PublicationMode = "filtered"
	// PublicationNoTables creates an empty publication when missing.
	PublicationNoTables PublicationMode = "no_tables"
	// PublicationDisabled requires the publication to exist.
	PublicationDisabled PublicationMode = "disabled"
)

// ErrPublication reports a publication that cannot be used or created as
// configured.
var ErrPublication = errors.New("replication: publication")

// PublicationSpec describes the wanted publication.
type PublicationSpec struct {
	Name string
	Mode PublicationMode
	// Tables are the captured tables (filtered mode).
	Tables []Table
	// Publish is the publish parameter ("insert, update") or "" for the
	// server default (all operations).
	Publish string
}

// EnsurePublication creates or aligns the publication and reports what it
// did ("" when nothing changed).
func EnsurePublication(ctx context.Context, conn *pgx.Conn, spec PublicationSpec) (string, error) {
	const exists = `SELECT puballtables FROM pg_publication WHERE pubname = $1`
	var allTables bool
	err := conn.QueryRow(ctx, exists, spec.Name).Scan(&allTables)
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("replication: look up publication %s: %w", spec.Name, err)
	}
	name := quoteIdent(spec.Name)
	with := ""
	if spec.Publish != "" {
		with = " WITH (publish = " + quoteLiteral(spec.Publish) + ")"
	}
	switch spec.Mode {
	case PublicationDisabled:
		if !found {
			return "", fmt.Errorf("%w: publication %q does not exist and publication.autocreate.mode is disabled; create it and restart the connector", ErrPublication, spec.Name)
		}
		return "", nil
	case PublicationAllTables:
		if found {
			return "", nil
		}
		if _, err := conn.Exec(ctx, "CREATE PUBLICATION "+name+" FOR ALL TABLES"+with); err != nil {
			return "", fmt.Errorf("replication: create publication %s: %w", spec.Name, err)
		}
		return "created FOR ALL TABLES", nil
	case PublicationNoTables:
		if found {
			return "", nil
		}
		if _, err := conn.Exec(ctx, "CREATE PUBLICATION "+name+with); err != nil {
			return "", fmt.Errorf("replication: create publication %s: %w", spec.Name, err)
		}
		return "created without tables", nil
	case PublicationFiltered:
		if len(spec.Tables) == 0 {
			return "", fmt.Errorf("%w: no table matches the include/exclude lists, so a filtered publication %q would be empty", ErrPublication, spec.Name)
		}
		idents := make([]string, len(spec.Tables))
		for i, t := range spec.Tables {
			idents[i] = t.Ident()
		}
		list := strings.Join(idents, ", ")
		if !found {
			if _, err := conn.Exec(ctx, "CREATE PUBLICATION "+name+" FOR TABLE "+list+with); err != nil {
				return "", fmt.Errorf("replication: create publication %s: %w", spec.Name, err)
			}
			return "created FOR TABLE " + list, nil
		}
		if allTables {
			return "", fmt.Errorf("%w: publication %q is FOR ALL TABLES; filtered mode cannot set its table list (drop it or use publication.autocreate.mode=all_tables)", ErrPublication, spec.Name)
		}
		have, err := publicationTables(ctx, conn, spec.Name)
		if err != nil {
			return "", err
		}
		want := make([]string, len(spec.Tables))
		for i, t := range spec.Tables {
			want[i] = t.String()
		}
		slices.Sort(want)
		if slices.Equal(have, want) {
			return "", nil
		}
		if _, err := conn.Exec(ctx, "ALTER PUBLICATION "+name+" SET TABLE "+list); err != nil {
			return "", fmt.Errorf("replication: alter publication %s: %w", spec.Name, err)
		}
		return "set tables to " + list, nil
	default:
		return "", fmt.Errorf("%w: unknown mode %q", ErrPublication, spec.Mode)
	}
}

func publicationTables(ctx context.Context, conn *pgx.Conn, pub string) ([]string, error) {
	const q = `SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`
	rows, err := conn.Query(ctx, q, pub)
	if err != nil {
		return nil, fmt.Errorf("replication: publication tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("replication: publication tables: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// Slot is the state of a replication slot.
type Slot struct {
	Name     string
	Plugin   string
	Database string
	Logical  bool
	Active   bool
	// ConfirmedFlush is where streaming resumes.
	ConfirmedFlush pgoutput.LSN
	// RetainedBytes is pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn):
	// the WAL the server keeps for this slot.
	RetainedBytes int64
}

// SlotState looks up a slot; ok is false when it does not exist.
func SlotState(ctx context.Context, conn *pgx.Conn, name string) (slot Slot, ok bool, err error) {
	const q = `
SELECT slot_name, COALESCE(plugin, ''), COALESCE(database, ''), slot_type = 'logical', active,
       COALESCE(confirmed_flush_lsn::text, '0/0'),
       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint
FROM pg_replication_slots WHERE slot_name = $1`
	var confirmed string
	err = conn.QueryRow(ctx, q, name).Scan(&slot.Name, &slot.Plugin, &slot.Database, &slot.Logical, &slot.Active, &confirmed, &slot.RetainedBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return Slot{}, false, nil
	}
	if err != nil {
		return Slot{}, false, fmt.Errorf("replication: slot %s: %w", name, err)
	}
	if slot.ConfirmedFlush, err = pgoutput.ParseLSN(confirmed); err != nil {
		return Slot{}, false, fmt.Errorf("replication: slot %s: %w", name, err)
	}
	return slot, true, nil
}

// DropSlot drops a slot, waiting (until ctx ends) while a connection still
// holds it, as a walsender does for a moment after its client went away.
// A slot that does not exist is not an error.
func DropSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	const q = `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := conn.Exec(ctx, q, name)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use: still active
			return fmt.Errorf("replication: drop slot %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replication: drop slot %s: %w", name, err)
		case <-tick.C:
		}
	}
}
