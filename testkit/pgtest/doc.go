// Package pgtest gives each test a fresh PostgreSQL database on one
// throwaway cluster per test binary.
//
// A package that uses it calls Main from TestMain; the cluster starts the
// first time a test asks for a database and stops when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.NewDatabase(t)
//		...
//	}
//
// Each database is created with CREATE DATABASE (a file copy of template1)
// and dropped, with its replication slots, when the test ends.
//
// HoldTransactionID and SlotCreationWaits keep a replication slot in the
// middle of its creation, for tests of what happens meanwhile. Locked tells
// whether another transaction holds a row lock, for tests of what a
// transaction locks.
//
// When the cluster cannot start the test fails. The one exception is a
// machine without PostgreSQL server binaries outside CI: there the test is
// skipped with the install command. Under CI=true it always fails.
package pgtest
