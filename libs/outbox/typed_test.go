package outbox_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/eventtest"
)

type itemAdded struct {
	CartID string      `json:"cartId"`
	SKU    string      `json:"sku"`
	Price  json.Number `json:"price,omitempty"` // not a number: marshalling fails
}

func (itemAdded) EventType() string     { return "ItemAdded" }
func (itemAdded) AggregateType() string { return "cart" }
func (e itemAdded) AggregateID() string { return e.CartID }

// itemAddedAs is an itemAdded whose writer chose its event id.
type itemAddedAs struct {
	itemAdded
	id uuid.UUID
}

func (e itemAddedAs) EventID() uuid.UUID { return e.id }

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

func TestAppendTyped(t *testing.T) {
	db := setup(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	id := uuid.MustParse("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85")
	checked := outbox.NewWriter(outbox.Validate(validate))
	tests := []struct {
		name    string
		w       *outbox.Writer
		at      time.Time
		evs     []outbox.Typed
		wantErr error  // errors.Is target, or nil
		says    string // part of the error, "" for none
		rows    int    // rows the table holds afterwards (the transaction commits on success)
	}{
		{"none", outbox.NewWriter(), at, nil, nil, "", 0},
		{"two at one time", checked, at, []outbox.Typed{itemAdded{CartID: "c1", SKU: "A"}, itemAdded{CartID: "c1", SKU: "B"}}, nil, "", 2},
		{"own id", outbox.NewWriter(), at.Add(time.Hour), []outbox.Typed{itemAddedAs{itemAdded{CartID: "c2", SKU: "C"}, id}}, nil, "", 3},
		{"schema failure", checked, at, []outbox.Typed{itemAdded{CartID: "c3"}}, errNoSKU, "", 3},
		{"schema failure is an invalid event", checked, at, []outbox.Typed{itemAdded{CartID: "c3"}}, outbox.ErrInvalidEvent, "", 3},
		{"not marshallable", outbox.NewWriter(), at, []outbox.Typed{itemAdded{CartID: "c3", SKU: "E", Price: "lots"}}, nil, "encode ItemAdded", 3},
		{"deleted after insert", outbox.NewWriter(outbox.DeleteAfterInsert(true)), at, []outbox.Typed{itemAdded{CartID: "c4", SKU: "F"}}, nil, "", 3},
		{"nil id means a new one", outbox.NewWriter(), at.Add(2 * time.Hour), []outbox.Typed{itemAddedAs{itemAdded{CartID: "c5", SKU: "G"}, uuid.Nil}}, nil, "", 4},
	}
	for _, tt := range tests {
		// Sequential: each case builds on the table the one before left.
		err := pgx.BeginFunc(t.Context(), db, func(tx pgx.Tx) error { return outbox.AppendTyped(t.Context(), tx, tt.w, tt.at, tt.evs...) })
		switch {
		case tt.wantErr == nil && tt.says == "" && err != nil:
			t.Fatalf("%s: AppendTyped = %v", tt.name, err)
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Fatalf("%s: AppendTyped = %v, want %v", tt.name, err, tt.wantErr)
		case tt.says != "" && (err == nil || !strings.Contains(err.Error(), tt.says)):
			t.Fatalf("%s: AppendTyped = %v, want an error saying %q", tt.name, err, tt.says)
		}
		if rows := eventtest.Outbox(t, db, eventtest.Expect{AggregateType: "cart"}); len(rows) != tt.rows {
			t.Fatalf("%s: %d rows, want %d", tt.name, len(rows), tt.rows)
		}
	}
	rows := eventtest.Outbox(t, db, eventtest.Expect{AggregateType: "cart", Validate: validate})
	skus := make([]string, len(rows))
	for i, r := range rows {
		skus[i] = r.Fields["sku"].(string)
	}
	if !slices.Equal(skus, []string{"A", "B", "C", "G"}) {
		t.Fatalf("skus in publishing order = %q", skus)
	}
	if rows[2].ID != id.String() || rows[0].AggregateID != "c1" || rows[2].AggregateID != "c2" || rows[0].Type != "ItemAdded" {
		t.Fatalf("rows = %+v", rows)
	}
	if _, ok := rows[2].Fields["id"]; ok || len(rows[2].Fields) != 2 {
		t.Fatalf("payload of an event naming its id = %s, want only the event's fields", rows[2].Payload)
	}
	if got := uuid.MustParse(rows[3].ID); got.Version() != 7 {
		t.Fatalf("id of an event naming uuid.Nil = %s, want a new UUIDv7", got)
	}
	var occurred time.Time
	if err := db.QueryRow(t.Context(), `SELECT occurred_at FROM outbox WHERE id = $1`, id).Scan(&occurred); err != nil || !occurred.Equal(at.Add(time.Hour)) {
		t.Fatalf("occurred_at = %v, %v; want %v", occurred, err, at.Add(time.Hour))
	}
}
