package eventoutbox

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/eventtest"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type itemAdded struct {
	CartID string      `json:"cartId"`
	SKU    string      `json:"sku"`
	Price  json.Number `json:"price,omitempty"` // not a number: marshalling fails
}

func (itemAdded) EventType() string     { return "ItemAdded" }
func (itemAdded) AggregateType() string { return "cart" }
func (e itemAdded) AggregateID() string { return e.CartID }

var errNoSKU = errors.New("sku is required")

func validate(typ string, payload []byte) error {
	if typ != "ItemAdded" {
		return errors.New("unknown type")
	}
	var e itemAdded
	if err := json.Unmarshal(payload, &e); err != nil {
		return err
	}
	if e.SKU == "" {
		return errNoSKU
	}
	return nil
}

func database(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), outbox.Schema); err != nil {
		t.Fatal(err)
	}
	return pool
}

func TestAppend(t *testing.T) {
	t.Parallel()
	pool := database(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	const id = "0193b6f2-8a02-7c11-b5e3-2d9a71f04c85"
	tests := []struct {
		name    string
		opts    Options
		recs    []Recorded
		wantErr error  // errors.Is target, or nil
		says    string // part of the error, "" for none
		rows    int    // rows the table holds afterwards (the transaction commits on success)
	}{
		{"none", Options{}, nil, nil, "", 0},
		{"two at one time", Options{Validate: validate}, At(at, itemAdded{CartID: "c1", SKU: "A"}, itemAdded{CartID: "c1", SKU: "B"}), nil, "", 2},
		{"own id and time", Options{}, []Recorded{{Event: itemAdded{CartID: "c2", SKU: "C"}, ID: id, At: at.Add(time.Hour)}}, nil, "", 3},
		{"schema failure", Options{Validate: validate}, At(at, itemAdded{CartID: "c3"}), errNoSKU, "", 3},
		{"bad id", Options{}, []Recorded{{Event: itemAdded{CartID: "c3", SKU: "D"}, ID: "42"}}, nil, `event id "42"`, 3},
		{"not marshallable", Options{}, At(at, itemAdded{CartID: "c3", SKU: "E", Price: "lots"}), nil, "encode ItemAdded", 3},
		{"deleted after insert", Options{DeleteAfterInsert: true}, At(at, itemAdded{CartID: "c4", SKU: "F"}), nil, "", 3},
	}
	for _, tt := range tests {
		// Sequential: each case builds on the table the one before left.
		err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error { return New(tt.opts).Append(t.Context(), tx, tt.recs...) })
		switch {
		case tt.wantErr == nil && tt.says == "" && err != nil:
			t.Fatalf("%s: Append = %v", tt.name, err)
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Fatalf("%s: Append = %v, want %v", tt.name, err, tt.wantErr)
		case tt.says != "" && (err == nil || !strings.Contains(err.Error(), tt.says)):
			t.Fatalf("%s: Append = %v, want an error saying %q", tt.name, err, tt.says)
		}
		if rows := eventtest.Outbox(t, pool, eventtest.Expect{AggregateType: "cart"}); len(rows) != tt.rows {
			t.Fatalf("%s: %d rows, want %d", tt.name, len(rows), tt.rows)
		}
	}
	rows := eventtest.Outbox(t, pool, eventtest.Expect{AggregateType: "cart", Validate: validate})
	if got := []string{rows[0].Fields["sku"].(string), rows[1].Fields["sku"].(string), rows[2].Fields["sku"].(string)}; !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Fatalf("skus in publishing order = %q", got)
	}
	if rows[2].ID != id || rows[0].AggregateID != "c1" || rows[2].AggregateID != "c2" || rows[0].Type != "ItemAdded" {
		t.Fatalf("rows = %+v", rows)
	}
	var occurred time.Time
	if err := pool.QueryRow(t.Context(), `SELECT occurred_at FROM outbox WHERE id = $1`, id).Scan(&occurred); err != nil || !occurred.Equal(at.Add(time.Hour)) {
		t.Fatalf("occurred_at = %v, %v; want %v", occurred, err, at.Add(time.Hour))
	}
}

func TestAt(t *testing.T) {
	at := time.Unix(1, 0)
	recs := At(at, itemAdded{CartID: "a"}, itemAdded{CartID: "b"})
	if len(recs) != 2 || recs[1].Event.AggregateID() != "b" || !recs[0].At.Equal(at) || recs[0].ID != "" {
		t.Fatalf("At = %+v", recs)
	}
	if len(At[itemAdded](at)) != 0 {
		t.Fatal("At of nothing is not empty")
	}
}
