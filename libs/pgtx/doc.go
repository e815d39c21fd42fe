// Package pgtx begins PostgreSQL transactions that run functions after they
// commit, so that whatever must only count once a change is durable (a
// metric, say) happens exactly when the transaction's commit succeeds, and
// never for one that rolls back.
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
package pgtx
