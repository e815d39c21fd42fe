package consumer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
)

func TestDecodePayload(t *testing.T) {
	type added struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	tests := []struct {
		name    string
		payload string
		want    added
		bad     bool
	}{
		{"object", `{"name":"book","n":2}`, added{"book", 2}, false},
		{"extra fields are ignored", `{"name":"pen","other":true}`, added{Name: "pen"}, false},
		{"not JSON", `nope`, added{}, true},
		{"wrong type", `{"n":"two"}`, added{}, true},
		{"empty", ``, added{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got added
			err := consumer.Decode(consumer.Event{ID: "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10", Type: "ItemAdded", Payload: []byte(tt.payload)}, &got)
			if tt.bad {
				if err == nil || !consumer.IsPermanent(err) || !strings.Contains(err.Error(), "decode ItemAdded 0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10") {
					t.Fatalf("Decode = %v, want a permanent error naming the event", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Decode = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestValidator(t *testing.T) {
	errBad := errors.New("breaks the schema")
	var checked []string
	validate := func(typ string, payload []byte) error {
		checked = append(checked, typ)
		if string(payload) != "ok" {
			return errBad
		}
		return nil
	}
	types := []string{"A", "B"}
	v := consumer.Validator(validate, types...)
	types[0] = "changed" // the validator keeps its own copy
	tests := []struct {
		typ, payload string
		want         error
	}{
		{"A", "ok", nil},
		{"B", "bad", errBad},
		{"A", "bad", errBad},
		{"C", "bad", nil},
		{"", "bad", nil},
	}
	for _, tt := range tests {
		if err := v(consumer.Event{Type: tt.typ, Payload: []byte(tt.payload)}); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("Validate(%s, %s) = %v, want %v", tt.typ, tt.payload, err, tt.want)
		}
	}
	if strings.Join(checked, ",") != "A,B,A" {
		t.Fatalf("checked %q, want only the types given", checked)
	}
}

func TestOnDecodesThePayloadBeforeTheHandler(t *testing.T) {
	type added struct {
		Name string `json:"name"`
	}
	var got []string
	mux := consumer.Mux{
		"ItemAdded": consumer.On(func(_ context.Context, _ pgx.Tx, ev consumer.Event, p added) error {
			got = append(got, ev.ID+":"+p.Name)
			return nil
		}),
		"ItemRemoved": consumer.On(func(context.Context, pgx.Tx, consumer.Event, added) error { return nil }),
	}
	if types := mux.Types(); strings.Join(types, ",") != "ItemAdded,ItemRemoved" {
		t.Fatalf("Types = %v, want the handled types sorted", types)
	}
	tests := []struct {
		name, typ, payload string
		permanent          bool
	}{
		{"decoded", "ItemAdded", `{"name":"book"}`, false},
		{"undecodable is permanent, handler not called", "ItemAdded", `{"name":1}`, true},
		{"unhandled type is ignored", "ItemSold", `nope`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			err := mux.Handle(t.Context(), nil, consumer.Event{ID: "e1", Type: tt.typ, Payload: []byte(tt.payload)})
			if consumer.IsPermanent(err) != tt.permanent || (err != nil) != tt.permanent {
				t.Fatalf("Handle = %v, want permanent=%v", err, tt.permanent)
			}
			wantCalls := 0
			if tt.name == "decoded" {
				wantCalls = 1
			}
			if len(got) != wantCalls || (wantCalls == 1 && got[0] != "e1:book") {
				t.Fatalf("handler calls = %v", got)
			}
		})
	}
}
