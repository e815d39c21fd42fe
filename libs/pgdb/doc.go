// Package pgdb opens a service's PostgreSQL pool and brings its schema up to
// date with golang-migrate at start-up.
//
// The pool's connections run with sequential scans off and with generic
// plans (plan_cache_mode force_generic_plan), each unless the DSN sets it: a
// service's statements find rows by key, a plan cached while a table was
// nearly empty would otherwise scan the whole table on every lookup as it
// grows, and a statement taking an array of keys would otherwise be planned
// anew at every execution.
//
// Migrate applies embedded migrations (an fs.FS of NNNNNN_name.up.sql /
// .down.sql files, read through golang-migrate's iofs source and its pgx v5
// driver) and refuses to go on when the database is in a state the binary
// must not touch: a dirty schema (a migration failed half-way; ErrDirty) or a
// schema newer than the newest migration the binary carries
// (ErrSchemaTooNew, typically an older binary started after a newer one
// migrated). Concurrent starts are serialised by the driver's advisory lock.
package pgdb
