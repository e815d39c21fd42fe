// Package migrationtest checks a service's embedded golang-migrate files
// against a real PostgreSQL database (package pgtest) and gives other tests
// a migrated database. Import it from _test.go files only; the package
// using it calls pgtest.Main from TestMain.
//
//	pool := migrationtest.Pool(t, migrations.FS) // fresh database, migrated
//
//	migrationtest.UpDownUp(t, migrations.FS, migrationtest.Schema{
//		Tables:       []string{"accounts", "inbox", "outbox", "payments"},
//		Publications: map[string][]string{"outbox_publication": {"outbox"}},
//	})
//	migrationtest.LibraryTablesMatch(t, migrations.FS)
//
// The migration files must sit at the root of the fs.FS, as
// pgdb.Migrate(ctx, dsn, fsys, ".", log) reads them at start-up. Every
// helper creates its own database through pgtest.NewDatabase, dropped when
// the test ends.
//
// # Limits
//
// Schema compares the tables of the public schema (schema_migrations
// excluded) and the tables of every publication; it does not compare
// indexes, constraints or grants. LibraryTablesMatch compares the columns
// of outbox and inbox (name, type, length, nullability, default) with the
// DDL of libs/outbox and libs/inbox, not their indexes.
package migrationtest
