// Package migrations embeds the inventory service's schema migrations
// (golang-migrate NNNNNN_name.up.sql / .down.sql files), applied at start-up
// with pgdb.Migrate.
package migrations

import "embed"

// FS holds the migration files at its root.
//
//go:embed *.sql
var FS embed.FS
