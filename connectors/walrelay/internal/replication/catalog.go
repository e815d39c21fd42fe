package replication

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
)

// Column holds the catalog facts of one table column.
type Column struct {
	Name string
	// TypeOID is the column's type; a domain is resolved to its base type.
	TypeOID uint32
	// TypeMod is the type modifier (atttypmod, or the domain's when the
	// column's own is -1).
	TypeMod int32
	// NotNull is pg_attribute.attnotnull.
	NotNull bool
	// Key is true for primary key columns (or, for a table without one,
	// columns of its replica identity as the stream reports them).
	Key bool
}

// Catalog reads column facts over an ordinary connection and caches type
// lookups. It is not safe for concurrent use.
type Catalog struct {
	conn *pgx.Conn
	base map[uint32]baseType
}

type baseType struct {
	oid uint32
	mod int32
}

// NewCatalog returns a Catalog using conn.
func NewCatalog(conn *pgx.Conn) *Catalog {
	return &Catalog{conn: conn, base: map[uint32]baseType{}}
}

// TableColumns returns the columns pgoutput would send for the table
// (not dropped, not generated), in attnum order.
func (c *Catalog) TableColumns(ctx context.Context, relid uint32) ([]Column, error) {
	const q = `
SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull,
       COALESCE(a.attnum = ANY (i.indkey::int2[]), false)
FROM pg_attribute a
LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum`
	rows, err := c.conn.Query(ctx, q, relid)
	if err != nil {
		return nil, fmt.Errorf("replication: columns of relation %d: %w", relid, err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Column, error) {
		var col Column
		err := r.Scan(&col.Name, &col.TypeOID, &col.TypeMod, &col.NotNull, &col.Key)
		return col, err
	})
	if err != nil {
		return nil, fmt.Errorf("replication: columns of relation %d: %w", relid, err)
	}
	for i := range cols {
		b, err := c.baseType(ctx, cols[i].TypeOID)
		if err != nil {
			return nil, err
		}
		if b.oid != cols[i].TypeOID {
			cols[i].TypeOID = b.oid
			if cols[i].TypeMod < 0 {
				cols[i].TypeMod = b.mod
			}
		}
	}
	return cols, nil
}

// RelationColumns returns the facts for the columns of a Relation message,
// in the message's order. Columns the catalog no longer has (the table was
// altered or dropped since the change was written) keep what the message
// says, with NotNull false.
func (c *Catalog) RelationColumns(ctx context.Context, rel *pgoutput.Relation) ([]Column, error) {
	cat, err := c.TableColumns(ctx, rel.RelationID)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]Column, len(cat))
	hasPK := false
	for _, col := range cat {
		byName[col.Name] = col
		hasPK = hasPK || col.Key
	}
	out := make([]Column, len(rel.Columns))
	for i, rc := range rel.Columns {
		col, ok := byName[rc.Name]
		if !ok || col.TypeOID == 0 {
			b, err := c.baseType(ctx, rc.DataType)
			if err != nil {
				return nil, err
			}
			col = Column{Name: rc.Name, TypeOID: b.oid, TypeMod: rc.TypeModifier}
			if rc.TypeModifier < 0 && b.oid != rc.DataType {
				col.TypeMod = b.mod
			}
		}
		if !hasPK {
			col.Key = rc.Key()
		}
		out[i] = col
	}
	return out, nil
}

// baseType follows a domain to the type it is built on.
func (c *Catalog) baseType(ctx context.Context, oid uint32) (baseType, error) {
	if b, ok := c.base[oid]; ok {
		return b, nil
	}
	const q = `SELECT typtype, typbasetype, typtypmod FROM pg_type WHERE oid = $1`
	cur := baseType{oid: oid, mod: -1}
	for depth := 0; depth < 32; depth++ {
		var typtype string
		var next uint32
		var mod int32
		err := c.conn.QueryRow(ctx, q, cur.oid).Scan(&typtype, &next, &mod)
		if err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				break // unknown type: keep it as it is
			}
			return baseType{}, fmt.Errorf("replication: type %d: %w", cur.oid, err)
		}
		if typtype != "d" {
			break
		}
		if cur.mod < 0 {
			cur.mod = mod
		}
		cur.oid = next
	}
	c.base[oid] = cur
	return cur, nil
}
