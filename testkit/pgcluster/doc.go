// Package pgcluster runs a throwaway PostgreSQL cluster from the server
// binaries installed on the machine.
//
// It is used by tests (through package pgtest) and by the embedded
// development stack. Start finds initdb and postgres (on PATH, through
// pg_config --bindir, or under /usr/lib/postgresql/*/bin), initialises a
// cluster in a directory of its own, and starts it on a loopback port with
// the settings logical replication needs (wal_level=logical, replication
// slots and WAL senders to spare). The server also listens on a
// Unix-domain socket in that directory when its path fits the kernel's
// limit; LocalDSNFor connects through it. Stop shuts it down and, for temporary
// clusters, removes every file it wrote.
//
// PostgreSQL refuses to run as root. When the calling process runs as root
// the harness runs initdb and postgres as an unprivileged OS user (postgres,
// else nobody) and hands the data directory to that user.
//
// When no server binaries are found, Start returns an error wrapping
// ErrNoBinaries whose text names the package to install.
package pgcluster
