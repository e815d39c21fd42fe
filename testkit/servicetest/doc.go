// Package servicetest tests a service command's run function the way the
// process runs it: started with a signal context, stopped by the signal;
// starts a service in-process for a test and stops it afterwards (Start);
// and waits for a running service's effects (WaitFor). Import it from
// _test.go files only.
//
//	func TestRunStopsCleanlyOnSignal(t *testing.T) {
//		env := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "DATABASE_URL": pgtest.NewDatabase(t), ...}
//		servicetest.StopsOnSignal(t, "order", env, run)
//	}
//
// The run function has the shape every command of this repository uses,
// run(ctx, stop, getenv, stdout): ctx is the signal context, stop releases
// its signal handler, getenv reads the environment and stdout receives the
// JSON log. StopsOnSignal relies on the log lines of package service
// ("<name> service started", "<name> service stopped").
package servicetest
