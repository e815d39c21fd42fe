package pgtx

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Deferred begins transactions on Pool whose BEGIN is not sent on its own:
// it travels in one pipelined batch with the transaction's first
// statements, saving a round trip. See the package documentation for the
// contract.
type Deferred struct {
	// Pool is where the transactions' connections come from.
	Pool *pgxpool.Pool
	// Options are the transaction's modes, as for pgxpool.Pool.BeginTx.
	// Options.BeginQuery, when set, must be a single statement.
	Options pgx.TxOptions
	// Setup are statements run right after the BEGIN, in the same batch,
	// such as "SET LOCAL lock_timeout = '50ms'". Each must be a single
	// statement: in pgx's default exec mode every statement of a batch is
	// prepared, and a string of several cannot be. They must not change how
	// statements are parsed (search_path): the statements sent with them are
	// prepared before they run.
	Setup []string
}

var _ Beginner = Deferred{}

// Begin acquires a connection from d.Pool and returns a transaction on it
// that has sent nothing yet.
func (d Deferred) Begin(ctx context.Context) (pgx.Tx, error) {
	c, err := d.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgtx: acquire: %w", err)
	}
	return &deferredTx{pc: c, conn: c.Conn(), opts: d.Options, setup: d.Setup, beginCtx: ctx}, nil
}

// deferredTx is a transaction of Deferred. Until its begin statements are
// sent tx is nil; then it is the pgx.Tx that pgx's Batch.BeginTx returns,
// which everything goes to. pc is nil once the connection is released.
type deferredTx struct {
	pc       *pgxpool.Conn
	conn     *pgx.Conn
	opts     pgx.TxOptions
	setup    []string
	beginCtx context.Context // for LargeObjects, which has no context of its own
	tx       pgx.Tx
}

var _ pgx.Tx = (*deferredTx)(nil)

// send sends the begin statements followed by qs in one batch and reads
// the begin statements' results. When it fails before anything ran (a
// statement of qs could not be prepared or its arguments encoded) it
// leaves t pending (t.tx nil), so that the caller can begin the
// transaction on its own and run qs through it, as pgx would.
func (t *deferredTx) send(ctx context.Context, qs ...*pgx.QueuedQuery) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.BeginTx(t.opts)
	for _, sql := range t.setup {
		b.Queue(sql)
	}
	b.QueuedQueries = append(b.QueuedQueries, qs...)
	br := t.conn.SendBatch(ctx, b)
	t.tx = br.Tx()
	for range 1 + len(t.setup) {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // returns err again
			if len(qs) > 0 && errors.As(err, new(pgx.ErrPreprocessingBatch)) {
				t.tx = nil
				return nil, err
			}
			return nil, fmt.Errorf("pgtx: begin: %w", err)
		}
	}
	return br, nil
}

// opened begins the transaction on its own if it has not begun, and
// returns pgx's transaction: a closed one if it could not begin.
func (t *deferredTx) opened(ctx context.Context) (pgx.Tx, error) {
	if t.tx != nil {
		return t.tx, nil
	}
	br, err := t.send(ctx)
	if err == nil {
		err = br.Close()
	}
	return t.tx, err
}

// Exec runs sql, with the begin statements if they have not been sent.
func (t *deferredTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.tx == nil && batchable(args) {
		var tag pgconn.CommandTag
		q := &pgx.QueuedQuery{SQL: sql, Arguments: args}
		q.Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
		br, err := t.send(ctx, q)
		if err == nil {
			err = br.Close()
		}
		if t.tx != nil {
			return tag, err
		}
	}
	tx, err := t.opened(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return tx.Exec(ctx, sql, args...)
}

// Query runs sql, with the begin statements if they have not been sent;
// then closing the rows (or reading them to the end) ends the batch.
func (t *deferredTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.tx == nil && batchable(args) {
		br, err := t.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
		if err == nil {
			rows, err := br.Query()
			if err != nil {
				_ = br.Close() // returns err again
				return rows, err
			}
			return &batchRows{Rows: rows, br: br}, nil
		}
		if t.tx != nil {
			return failedRows(err)
		}
	}
	tx, err := t.opened(ctx)
	if err != nil {
		return failedRows(err)
	}
	return tx.Query(ctx, sql, args...)
}

// QueryRow is Query for one row, with the semantics of pgx's QueryRow.
func (t *deferredTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.tx != nil {
		return t.tx.QueryRow(ctx, sql, args...)
	}
	rows, _ := t.Query(ctx, sql, args...)
	return row{rows}
}

// SendBatch sends b, after the begin statements in the same batch if they
// have not been sent.
func (t *deferredTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.tx == nil {
		// Only a batch that begins a transaction fails with a transaction.
		if pgx.FailedBatchResults(b, nil).Tx() != nil {
			return pgx.FailedBatchResults(b, errors.New("pgtx: Batch.BeginTx cannot be used within a transaction"))
		}
		br, err := t.send(ctx, b.QueuedQueries...)
		if err == nil {
			return noTxResults{br}
		}
		if t.tx != nil {
			return pgx.FailedBatchResults(b, err)
		}
		// Nothing ran, but pgx has filled in b's queries as if they had been
		// prepared: send fresh copies.
		fresh := &pgx.Batch{}
		for _, q := range b.QueuedQueries {
			fresh.QueuedQueries = append(fresh.QueuedQueries, &pgx.QueuedQuery{SQL: q.SQL, Arguments: q.Arguments, Fn: q.Fn})
		}
		b = fresh
	}
	tx, err := t.opened(ctx)
	if err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return tx.SendBatch(ctx, b)
}

// Begin begins the transaction if it has not begun, then a savepoint.
func (t *deferredTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.opened(ctx)
	if err != nil {
		return nil, err
	}
	return tx.Begin(ctx)
}

// CopyFrom begins the transaction if it has not begun, then copies.
func (t *deferredTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	tx, err := t.opened(ctx)
	if err != nil {
		return 0, err
	}
	return tx.CopyFrom(ctx, table, columns, src)
}

// Prepare begins the transaction if it has not begun, then prepares sql.
func (t *deferredTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	tx, err := t.opened(ctx)
	if err != nil {
		return nil, err
	}
	return tx.Prepare(ctx, name, sql)
}

// LargeObjects begins the transaction if it has not begun, with the
// context given to Deferred.Begin; if that fails, the large objects'
// methods return the transaction's error.
func (t *deferredTx) LargeObjects() pgx.LargeObjects {
	tx, _ := t.opened(t.beginCtx)
	return tx.LargeObjects()
}

// Conn returns the connection the transaction runs on.
func (t *deferredTx) Conn() *pgx.Conn { return t.conn }

// Commit commits and releases the connection; a transaction that never
// began just releases it.
func (t *deferredTx) Commit(ctx context.Context) error {
	return t.end(func(tx pgx.Tx) error { return tx.Commit(ctx) })
}

// Rollback rolls back and releases the connection; a transaction that
// never began just releases it.
func (t *deferredTx) Rollback(ctx context.Context) error {
	return t.end(func(tx pgx.Tx) error { return tx.Rollback(ctx) })
}

// end ends the transaction with f, if it began, and releases the
// connection. pgx closes a connection whose COMMIT or ROLLBACK failed with
// the transaction still open, and the pool destroys a released connection
// that is closed, busy or in a transaction, so none goes back in one.
func (t *deferredTx) end(f func(pgx.Tx) error) error {
	if t.pc == nil {
		return pgx.ErrTxClosed
	}
	defer func() {
		t.pc.Release()
		t.pc = nil
	}()
	if t.tx == nil {
		t.tx = closedTx
		return nil
	}
	return f(t.tx)
}

// closedTx is a pgx transaction that is closed: its methods return
// pgx.ErrTxClosed.
var closedTx = func() pgx.Tx {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	return pgx.FailedBatchResults(b, pgx.ErrTxClosed).Tx()
}()

// failedRows are closed rows that report err, as pgx returns for a query
// it could not send.
func failedRows(err error) (pgx.Rows, error) {
	return pgx.FailedBatchResults(&pgx.Batch{}, err).Query()
}

// batchable reports whether a query with args can be queued in a batch,
// which takes no query option but pgx.QueryRewriter.
func batchable(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case pgx.QueryRewriter:
		case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
			return false
		default:
			return true
		}
	}
	return true
}

// batchRows are the rows of a query sent with the begin statements:
// closing them, or reading them to the end, ends the batch.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults // nil once closed
	err error            // of closing br
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// row is a pgx.Row over rows, which Scan closes.
type row struct{ rows pgx.Rows }

func (r row) Scan(dest ...any) error {
	defer r.rows.Close()
	if err := r.rows.Err(); err != nil {
		return err
	}
	for _, d := range dest {
		if _, ok := d.(*pgtype.DriverBytes); ok {
			return errors.New("pgtx: cannot scan into *pgtype.DriverBytes from QueryRow")
		}
	}
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	_ = r.rows.Scan(dest...) // also in Err
	r.rows.Close()
	return r.rows.Err()
}

// noTxResults are the results of a caller's batch sent with the begin
// statements: the transaction they began is the caller's, not the batch's.
type noTxResults struct{ pgx.BatchResults }

func (noTxResults) Tx() pgx.Tx { return nil }
