package pgdb_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/outboxcdc/outboxcdc/libs/pgdb"
)

func TestUUIDs(t *testing.T) {
	const (
		a = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"
		b = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b11"
	)
	tests := []struct {
		name string
		ids  []string
		want []string
	}{
		{"none", nil, nil},
		{"in their order", []string{b, a}, []string{b, a}},
		{"ids that are no UUID are skipped", []string{"", a, "order-1", b}, []string{a, b}},
	}
	m := pgtype.NewMap()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := pgdb.UUIDs(tt.ids)
			var got []string
			for _, k := range keys {
				got = append(got, k.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("UUIDs(%q) = %q, want %q", tt.ids, got, tt.want)
			}
			// The point: pgx encodes them as a uuid[] in binary, its
			// first choice for the type.
			if _, err := m.Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, keys, nil); err != nil {
				t.Errorf("binary uuid[]: %v", err)
			}
		})
	}
}
