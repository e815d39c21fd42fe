package replication

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Row is one table row read by ReadSnapshot: values in text format, nil
// for NULL, in the order of Columns. Values are only valid during the
// callback.
type Row struct {
	Table   Table
	Columns []Column
	Values  [][]byte
}

// ReadSnapshot reads every row of the tables inside the exported snapshot
// (CreatedSlot.SnapshotName) and calls fn for each. With an empty snapshot
// name it reads a snapshot of its own, taken now. It runs one
// REPEATABLE READ READ ONLY transaction on conn. Values are PostgreSQL's
// text output, the same form pgoutput streams.
func ReadSnapshot(ctx context.Context, conn *pgx.Conn, cat *Catalog, snapshot string, tables []Table, fn func(Row) error) error {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("replication: snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if snapshot != "" {
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(snapshot)); err != nil {
			return fmt.Errorf("replication: snapshot %s: %w", snapshot, err)
		}
	}
	for _, t := range tables {
		cols, err := cat.TableColumns(ctx, t.OID)
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			continue
		}
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = quoteIdent(c.Name)
		}
		q := "SELECT " + strings.Join(names, ", ") + " FROM ONLY " + t.Ident()
		rows, err := tx.Query(ctx, q, pgx.QueryResultFormats{pgx.TextFormatCode})
		if err != nil {
			return fmt.Errorf("replication: snapshot read %s: %w", t, err)
		}
		for rows.Next() {
			if err := fn(Row{Table: t, Columns: cols, Values: rows.RawValues()}); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("replication: snapshot read %s: %w", t, err)
		}
	}
	return tx.Commit(ctx)
}
