package dlq

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
)

// HeaderReplayedFrom marks a replayed record with the dead letter it was
// copied from, topic/partition@offset.
const HeaderReplayedFrom = "dlq.replayed.from"

// Outcome says what Replay did with one dead letter.
type Outcome string

// The outcomes.
const (
	// Replayed: a copy is on the original topic.
	Replayed Outcome = "replayed"
	// WouldReplay: a dry run found nothing against replaying it.
	WouldReplay Outcome = "would-replay"
	// Skipped: nothing to do; the event already took effect in its
	// group, or the same event of the same group was replayed just
	// before.
	Skipped Outcome = "skipped"
	// Refused: a copy cannot be made, or would take effect twice in
	// another group.
	Refused Outcome = "refused"
)

// Result is what happened to one dead letter.
type Result struct {
	From      Ref     `json:"from"`
	Outcome   Outcome `json:"outcome"`
	Group     string  `json:"group"`
	EventType string  `json:"eventType"`
	EventID   string  `json:"eventId"`
	// To is where the copy went (offset -1 in a dry run).
	To *Ref `json:"to,omitempty"`
	// Rearmed says that the group's dead_lettered inbox row for the
	// event was deleted (would be, in a dry run), so the group handles
	// the copy.
	Rearmed bool `json:"rearmed"`
	// Notes say why a dead letter was skipped or refused, and what else
	// is worth knowing.
	Notes []string `json:"notes"`
}

// Replay copies each dead letter back to its original topic: same key,
// value and headers but the dlq.* ones, plus HeaderReplayedFrom, on the
// partition the key maps to under the default partitioner (a record
// without a key goes back to its original partition).
//
// The consumers' inboxes make it safe to repeat. The group that gave up on
// the event holds it in its inbox as dead_lettered, which would make it
// skip the copy as a duplicate: that row is deleted first (nothing else
// is), so the group handles the copy once; a group that already processed
// the event (an earlier replay) skips it, and Replay skips such a dead
// letter altogether. Every other group the topic feeds that handles the
// event's type finds the event in its inbox and skips the copy; one that
// consumed the original but whose inbox no longer holds it (rows older
// than the consumers' retention are pruned) would take it again, so Replay
// refuses that dead letter. A group without a handler for the type
// acknowledges the copy without effect and keeps no inbox row for it: it
// is not asked. The inboxes are looked up in cfg's databases.
//
// Dead letters are handled in the order given; of several of one group
// and event, the first is replayed and the others skipped. With dryRun,
// nothing is written. An error stops Replay; the results so far are
// returned with it.
func Replay(ctx context.Context, cfg stack.Config, ds []*DeadLetter, dryRun bool) ([]Result, error) {
	cl, err := cfg.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r := &replayer{
		cfg: cfg, cl: cl, adm: kadm.NewClient(cl), dryRun: dryRun,
		conns: map[string]*pgx.Conn{}, committed: map[string]map[string]map[int32]int64{}, done: map[[2]string]Ref{},
	}
	defer func() {
		for _, c := range r.conns {
			c.Close(context.WithoutCancel(ctx))
		}
	}()
	var topics []string
	for _, d := range ds {
		if d.Original.Topic != "" && !slices.Contains(topics, d.Original.Topic) {
			topics = append(topics, d.Original.Topic)
		}
	}
	if r.offsets, err = stack.ListOffsets(ctx, r.adm, topics...); err != nil {
		return nil, err
	}
	results := []Result{}
	for _, d := range ds {
		res, err := r.one(ctx, d)
		if err != nil {
			return results, fmt.Errorf("replaying %s: %w", d.Ref, err)
		}
		results = append(results, res)
	}
	return results, nil
}

type replayer struct {
	cfg       stack.Config
	cl        *kgo.Client
	adm       *kadm.Client
	dryRun    bool
	offsets   map[string]map[int32]stack.Offsets
	conns     map[string]*pgx.Conn                  // by database
	committed map[string]map[string]map[int32]int64 // by group
	done      map[[2]string]Ref                     // group, event id → replayed from
}

func (r *replayer) one(ctx context.Context, d *DeadLetter) (Result, error) {
	res := Result{From: d.Ref, Group: d.Group, EventType: d.EventType, EventID: d.EventID, Notes: []string{}}
	end := func(o Outcome, note string) (Result, error) {
		res.Outcome = o
		res.Notes = append(res.Notes, note)
		return res, nil
	}
	if d.Original.Topic == "" {
		return end(Refused, "no dlq.original.topic header: not a dead letter")
	}
	if d.ValueDropped != "" {
		return end(Refused, fmt.Sprintf("its value was left out of the dead letter (%s); the original record %s holds it",
			d.ValueDropped, d.Original))
	}
	n := len(r.offsets[d.Original.Topic])
	if n == 0 {
		return end(Refused, fmt.Sprintf("topic %s does not exist", d.Original.Topic))
	}
	var p int32
	switch {
	case d.Key != nil:
		p = stack.Partition(d.Key, n)
		if d.Original.Partition >= 0 && p != d.Original.Partition {
			res.Notes = append(res.Notes, fmt.Sprintf("the key maps to partition %d of %d, not to %d where the original was: "+
				"the topic's partitions changed", p, n, d.Original.Partition))
		}
	case d.Original.Partition >= 0 && int(d.Original.Partition) < n:
		p = d.Original.Partition
	default:
		return end(Refused, "no key and no original partition of the topic to put it back on")
	}
	if _, err := uuid.Parse(d.EventID); err != nil {
		// libs/consumer dead-letters such a record at once, whoever reads
		// it, and no inbox could recognise a copy.
		return end(Refused, "no event id (a UUID in the id header): every consumer dead-letters it again")
	}
	key := [2]string{d.Group, d.EventID}
	if from, ok := r.done[key]; ok {
		return end(Skipped, fmt.Sprintf("the same event of %s was replayed from %s", d.Group, from))
	}
	rearm := false
	if g, ok := stack.LookupGroup(d.Group); ok {
		outcome, found, err := r.lookup(ctx, g, d.EventID)
		switch {
		case err != nil:
			return res, err
		case found && outcome == inbox.Processed:
			return end(Skipped, fmt.Sprintf("%s has processed event %s already: an earlier replay took effect", g.Name, d.EventID))
		case found:
			rearm = true
		}
	} else {
		res.Notes = append(res.Notes, fmt.Sprintf("group %q is none of the services': its inbox was not looked at", d.Group))
	}
	for _, g := range stack.ReadersOf(d.Original.Topic) {
		if g.Name == d.Group || !slices.Contains(g.Handles, d.EventType) {
			// A group without a handler for the type takes no effect
			// from the copy and has no inbox row to find.
			continue
		}
		_, found, err := r.lookup(ctx, g, d.EventID)
		if err != nil {
			return res, err
		}
		if found {
			continue
		}
		committed, err := r.committedOf(ctx, g.Name)
		if err != nil {
			return res, err
		}
		if c, ok := committed[d.Original.Topic][d.Original.Partition]; ok && c > d.Original.Offset {
			return end(Refused, fmt.Sprintf("%s consumed %s but its inbox no longer holds event %s: the copy would take effect there again",
				g.Name, d.Original, d.EventID))
		}
	}
	res.To, res.Rearmed = &Ref{Topic: d.Original.Topic, Partition: p, Offset: -1}, rearm
	if r.dryRun {
		res.Outcome = WouldReplay
		r.done[key] = d.Ref
		return res, nil
	}
	if res.Rearmed {
		g, _ := stack.LookupGroup(d.Group)
		conn, err := r.conn(ctx, g.Database)
		if err != nil {
			return res, err
		}
		// Before the copy exists, so that the group cannot meet the copy
		// while the row is still there.
		const rearm = `DELETE FROM inbox WHERE consumer_group = $1 AND event_id = $2::uuid AND outcome = 'dead_lettered'`
		if _, err := conn.Exec(ctx, rearm, g.Name, d.EventID); err != nil {
			return res, fmt.Errorf("%s database: re-arming %s's inbox: %w", g.Database, g.Name, err)
		}
	}
	headers := append(d.OriginalHeaders(), kgo.RecordHeader{Key: HeaderReplayedFrom, Value: []byte(d.Ref.String())})
	rec := &kgo.Record{Topic: d.Original.Topic, Partition: p, Key: d.Key, Value: d.Value, Headers: headers}
	if err := r.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return res, fmt.Errorf("kafka: producing to %s/%d: %w", rec.Topic, p, err)
	}
	res.To.Offset = rec.Offset
	res.Outcome = Replayed
	r.done[key] = d.Ref
	return res, nil
}

// lookup returns how group g disposed of the event, from its inbox.
func (r *replayer) lookup(ctx context.Context, g stack.Group, eventID string) (inbox.Outcome, bool, error) {
	conn, err := r.conn(ctx, g.Database)
	if err != nil {
		return "", false, err
	}
	outcome, found, err := inbox.Lookup(ctx, conn, "", g.Name, eventID)
	if err != nil {
		return "", false, fmt.Errorf("%s database: %w", g.Database, err)
	}
	return outcome, found, nil
}

func (r *replayer) conn(ctx context.Context, db string) (*pgx.Conn, error) {
	if c := r.conns[db]; c != nil {
		return c, nil
	}
	c, err := pgx.Connect(ctx, r.cfg.DSN(db))
	if err != nil {
		return nil, fmt.Errorf("%s database: %w", db, err)
	}
	r.conns[db] = c
	return c, nil
}

func (r *replayer) committedOf(ctx context.Context, group string) (map[string]map[int32]int64, error) {
	if c, ok := r.committed[group]; ok {
		return c, nil
	}
	c, err := stack.Committed(ctx, r.adm, group)
	if err != nil {
		return nil, err
	}
	r.committed[group] = c
	return c, nil
}

// WriteResults prints one line per result, and its notes below it.
func WriteResults(w io.Writer, results []Result) error {
	if len(results) == 0 {
		_, err := fmt.Fprintln(w, "nothing to replay")
		return err
	}
	for _, res := range results {
		event := strings.TrimSpace(res.EventType + " " + res.EventID)
		if event == "" {
			event = "(no event headers)"
		}
		var line string
		switch res.Outcome {
		case Replayed:
			line = fmt.Sprintf("replayed %s -> %s: %s", res.From, res.To, event)
		case WouldReplay:
			line = fmt.Sprintf("would replay %s -> %s/%d: %s", res.From, res.To.Topic, res.To.Partition, event)
		default:
			line = fmt.Sprintf("%s %s: %s", res.Outcome, res.From, event)
		}
		if res.Rearmed {
			verb := "deleted"
			if res.Outcome == WouldReplay {
				verb = "would be deleted"
			}
			line += fmt.Sprintf(" (%s's dead_lettered inbox row %s, so it handles the copy)", res.Group, verb)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
		for _, n := range res.Notes {
			if _, err := fmt.Fprintf(w, "  %s\n", n); err != nil {
				return err
			}
		}
	}
	return nil
}
