// Package pgtx begins PostgreSQL transactions that run functions after they
// commit, so that whatever must only count once a change is durable (a
// metric, say) happens exactly when the transaction's commit succeeds, and
// never for one that rolls back. With Deferred, a transaction's BEGIN
// travels with its first statements instead of costing a round trip.
//
//	tx, err := pgtx.Begin(ctx, pool)
//	...
//	pgtx.AfterCommit(tx, func() { written.Inc() }) // anywhere tx is passed
//	err = tx.Commit(ctx)                           // runs it on success
//
// # Contract
//
//   - A function registered with AfterCommit runs once, in the goroutine
//     that calls Commit, after PostgreSQL confirmed the commit and before
//     Commit returns; functions run in the order they were registered.
//   - Rollback, or a Commit that fails (including the commit of a
//     transaction in the failed state, which PostgreSQL turns into a
//     rollback), drops them unrun. A commit whose answer is lost (the
//     connection drops after PostgreSQL committed) drops them too: only a
//     confirmed commit runs them.
//   - A nested transaction (tx.Begin, a savepoint) hands its functions to
//     its parent when it is released, and drops them when it is rolled
//     back; they run when the outermost transaction commits.
//   - AfterCommit on a transaction this package did not begin registers
//     nothing and reports false.
//
// The transactions are the pgx.Tx that pgx returns, wrapped; like them they
// are not safe for concurrent use. The functions must not block or fail:
// the change they follow has already committed.
//
// # Deferred BEGIN
//
// A Deferred begins transactions on a pool whose BEGIN costs no round trip
// of its own; Begin(ctx, Deferred{...}) and BeginFunc take it like a pool:
//
//	db := pgtx.Deferred{Pool: pool, Setup: []string{"SET LOCAL lock_timeout = '50ms'"}}
//	err := pgtx.BeginFunc(ctx, db, func(tx pgx.Tx) error { ... })
//
// Its transactions are pgx.Tx, and:
//
//   - Deferred.Begin acquires a connection and sends nothing. The first
//     Exec, Query, QueryRow or SendBatch sends the BEGIN (of Options), the
//     Setup statements and its own statements in one pipelined batch; once
//     they are sent everything goes to pgx's transaction on the connection.
//   - An error of a begin statement is the error of that first call. The
//     rows of a first Query end the batch when they are closed or read to
//     the end, and the results of a first SendBatch run the caller's
//     callbacks on Close, as pgx's do.
//   - In pgx's default exec mode a batch prepares the statements its
//     connection has not prepared yet in a round trip of its own, as Exec
//     and Query do for a statement with arguments: a first statement without
//     arguments saves the round trip once its connection has run it before.
//   - When a first statement cannot be prepared or its arguments encoded,
//     nothing has run: the transaction is then begun on its own and the
//     statement run in it, so its error and the transaction's state are
//     pgx's (a first Exec without arguments may thus hold several
//     statements). When a begin statement cannot be prepared, the
//     transaction is closed and its methods return pgx.ErrTxClosed.
//   - Begin (a savepoint), CopyFrom, Prepare, LargeObjects (with the context
//     given to Deferred.Begin) and a statement with a query option (an exec
//     mode, result formats) begin the transaction on its own first. A batch
//     that begins a transaction itself (pgx.Batch.BeginTx) is refused.
//   - Commit and Rollback of a transaction that never began send nothing.
//     Otherwise they are pgx's: the commit of a transaction in the failed
//     state returns pgx.ErrTxCommitRollback, and a connection that a failed
//     COMMIT or ROLLBACK leaves in a transaction is closed. Either releases
//     the connection, once; later calls return pgx.ErrTxClosed.
package pgtx
