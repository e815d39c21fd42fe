// Package migrations holds the order service's schema history as numbered
// golang-migrate files (NNNNNN_name.up.sql / .down.sql), embedded so the
// binary migrates its own database at start-up (pgdb.Migrate(ctx, dsn, FS,
// ".", log)). Applied files are never edited; changes go in a new number.
package migrations

import "embed"

// FS holds every migration file at its root.
//
//go:embed *.sql
var FS embed.FS
