package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/services/order/internal/httpapi"
)

// TestBacklogLogsItsTransitions counts a backlog through its bound and
// back: each count admits or refuses, and only a change between the two
// logs a line.
func TestBacklogLogsItsTransitions(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var pending int
	b := newBacklog(3, func(context.Context, int) (int, error) { return pending, nil }, prometheus.NewRegistry(), log)
	for _, step := range []struct {
		pending int
		refuse  bool
		logged  string // the line this count logs, "" for none
	}{
		{0, false, ""},
		{2, false, ""},
		{3, true, `level=WARN msg="refusing new orders until the saga catches up (503 overloaded)" pending=3 max_backlog=3`},
		{4, true, ""},
		{3, true, ""},
		{2, false, `level=INFO msg="admitting new orders again" pending=2 max_backlog=3`},
		{1, false, ""},
		{5, true, `level=WARN msg="refusing new orders until the saga catches up (503 overloaded)" pending=5 max_backlog=3`},
	} {
		out.Reset()
		pending = step.pending
		if err := b.refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := b.admit(); (err != nil) != step.refuse || err != nil && !errors.Is(err, httpapi.ErrOverloaded) {
			t.Errorf("%d pending: admit = %v, want refused %v", step.pending, err, step.refuse)
		}
		if got := strings.TrimSpace(out.String()); !strings.HasSuffix(got, step.logged) || (step.logged == "") != (got == "") {
			t.Errorf("%d pending logged %q, want %q", step.pending, got, step.logged)
		}
	}
}
