package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgtx"
)

func TestWrittenEventsAreCountedWhenTheirTransactionCommits(t *testing.T) {
	conn := setup(t)
	errAbandon := errors.New("abandon")
	paid := outbox.Event{AggregateType: "payment", AggregateID: "o-1", Type: "PaymentCaptured", Payload: json.RawMessage(`{}`)}
	for _, tc := range []struct {
		name string
		// write appends through w in a transaction of its own making.
		write func(ctx context.Context, w *outbox.Writer) error
		want  string // the expected outbox_events_written_total series
		err   error
	}{
		{
			name: "committed events count by aggregate and type",
			write: func(ctx context.Context, w *outbox.Writer) error {
				return pgtx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					if err := w.Append(ctx, tx, event("o-1"), event("o-2")); err != nil {
						return err
					}
					return w.Append(ctx, tx, paid)
				})
			},
			want: `
outbox_events_written_total{aggregate="order",type="OrderCreated"} 2
outbox_events_written_total{aggregate="payment",type="PaymentCaptured"} 1
`,
		},
		{
			name: "a rolled back transaction's events do not count",
			write: func(ctx context.Context, w *outbox.Writer) error {
				return pgtx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					if err := w.Append(ctx, tx, event("o-1")); err != nil {
						return err
					}
					return errAbandon
				})
			},
			err: errAbandon,
		},
		{
			name: "a transaction that fails at its commit counts nothing",
			write: func(ctx context.Context, w *outbox.Writer) error {
				tx, err := pgtx.Begin(ctx, conn)
				if err != nil {
					return err
				}
				defer tx.Rollback(ctx)
				if err := w.Append(ctx, tx, event("o-1")); err != nil {
					return err
				}
				// A later statement fails; PostgreSQL turns the commit
				// into a rollback.
				_, _ = tx.Exec(ctx, `SELECT 1/0`)
				return tx.Commit(ctx)
			},
			err: pgx.ErrTxCommitRollback,
		},
		{
			name: "a rolled back savepoint's events do not count, the rest do",
			write: func(ctx context.Context, w *outbox.Writer) error {
				return pgtx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					if err := w.Append(ctx, tx, event("o-1")); err != nil {
						return err
					}
					err := pgtx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
						if err := w.Append(ctx, sp, paid); err != nil {
							return err
						}
						return errAbandon
					})
					if !errors.Is(err, errAbandon) {
						return err
					}
					return nil
				})
			},
			want: `
outbox_events_written_total{aggregate="order",type="OrderCreated"} 1
`,
		},
		{
			name: "a refused append counts nothing, though its transaction commits",
			write: func(ctx context.Context, w *outbox.Writer) error {
				return pgtx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					bad := event("o-1")
					bad.Payload = json.RawMessage(`{`)
					if err := w.Append(ctx, tx, bad); !errors.Is(err, outbox.ErrInvalidEvent) {
						return err
					}
					return nil
				})
			},
		},
		{
			name: "a transaction pgtx did not begin is written but not counted",
			write: func(ctx context.Context, w *outbox.Writer) error {
				return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					return w.Append(ctx, tx, event("o-1"))
				})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			w := outbox.NewWriter(outbox.Count(outbox.NewMetrics(reg)))
			if err := tc.write(t.Context(), w); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			want := ""
			if tc.want != "" {
				want = "# HELP outbox_events_written_total Events written to the outbox by transactions that committed, by aggregate type and event type.\n" +
					"# TYPE outbox_events_written_total counter" + tc.want
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "outbox_events_written_total"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
