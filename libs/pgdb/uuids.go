package pgdb

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// UUIDs returns ids as the argument of a uuid[] parameter, skipping those
// that are no UUID (they name no row). pgx sends pgtype.UUID in binary;
// strings given for a uuid[] would be tried in binary first, fail, and go
// as text, at every execution.
func UUIDs(ids []string) []pgtype.UUID {
	keys := make([]pgtype.UUID, 0, len(ids))
	for _, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			keys = append(keys, pgtype.UUID{Bytes: u, Valid: true})
		}
	}
	return keys
}
