package sourcetask

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/delivery"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// streamer holds one connection attempt's state.
type streamer struct {
	*Task
	router  *eventrouter.Router
	conn    *pgx.Conn
	cat     *replication.Catalog
	repl    *replication.Conn
	client  *kgo.Client
	tracker *delivery.Tracker
	dec     pgoutput.Decoder
	rels    map[uint32]*relation
	// after is reused for each routed row: the router keeps nothing of a
	// change once it returned.
	after []eventrouter.Column
	// produced caches the events-produced counter of each topic.
	produced map[string]prometheus.Counter

	produceErr atomic.Pointer[error]
	// produceCtx outlives a stop request so buffered records are not
	// failed; it is cancelled when the stream is abandoned.
	produceCtx context.Context

	inTx  bool
	entry *delivery.Entry
	// behind is true while the stream reads a backlog in batches.
	behind bool
	// The open transaction's begin facts and the last commit, for the
	// source block of logical message records.
	txID          uint32
	txCommitTime  time.Time
	lastCommitLSN pgoutput.LSN

	lastStatus    time.Time
	lastSent      pgoutput.LSN
	nextHeartbeat time.Time
}

// stream runs one connection attempt until ctx ends (nil) or an error.
// streamed reports whether it got as far as streaming, which resets the
// retry budget.
func (t *Task) stream(ctx context.Context) (streamed bool, err error) {
	s := &streamer{Task: t, rels: map[uint32]*relation{}, produced: map[string]prometheus.Counter{}}

	// A new router per task start: it carries the run id of the context
	// headers.
	router, cerrs := eventrouter.New(t.cfg.Name, t.cfg.Props, t.opts.Worker, t.log)
	if len(cerrs) > 0 {
		msgs := make([]string, len(cerrs))
		for i, e := range cerrs {
			msgs[i] = e.Key + ": " + e.Message
		}
		return false, permanent(fmt.Errorf("invalid configuration: %s", strings.Join(msgs, "; ")))
	}
	s.router = router

	connString := t.cfg.DB.ConnString()
	if s.conn, err = pgx.Connect(ctx, connString); err != nil {
		return false, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer s.conn.Close(context.WithoutCancel(ctx))
	s.cat = replication.NewCatalog(s.conn)

	if _, err := replication.CheckServer(ctx, s.conn); err != nil {
		if errors.Is(err, replication.ErrServer) {
			return false, permanent(err)
		}
		return false, err
	}
	tables, err := t.capturedTables(ctx, s.conn)
	if err != nil {
		return false, err
	}
	did, err := replication.EnsurePublication(ctx, s.conn, replication.PublicationSpec{
		Name: t.cfg.PublicationName, Mode: t.cfg.PublicationMode, Tables: tables, Publish: t.cfg.Publish(),
	})
	if err != nil {
		if errors.Is(err, replication.ErrPublication) {
			return false, permanent(err)
		}
		return false, err
	}
	if did != "" {
		t.log.Info("publication "+did, "publication", t.cfg.PublicationName)
	}

	slot, exists, err := t.checkSlot(ctx, s.conn)
	if err != nil {
		return false, err
	}

	if s.repl, err = replication.Connect(ctx, connString); err != nil {
		return false, err
	}
	defer s.repl.Close(context.WithoutCancel(ctx))

	if s.client, err = t.newProducer(); err != nil {
		return false, permanent(err)
	}
	defer s.client.Close()
	var cancelProduce context.CancelFunc
	s.produceCtx, cancelProduce = context.WithCancel(context.Background())
	defer cancelProduce()
	// A stop request gives buffered records ShutdownTimeout to be
	// acknowledged; after that, producing (even a blocked Produce) is
	// abandoned.
	stopAfter := context.AfterFunc(ctx, func() { time.AfterFunc(t.opts.ShutdownTimeout, cancelProduce) })
	defer stopAfter()

	start, err := s.openSlot(ctx, slot, exists, tables)
	if err != nil {
		return false, err
	}

	if err := s.repl.Start(ctx, t.cfg.SlotName, start, replication.StartOptions{Publication: t.cfg.PublicationName, Messages: true}); err != nil {
		return false, err
	}
	t.log.Info("streaming", "slot", t.cfg.SlotName, "publication", t.cfg.PublicationName, "lsn", start, "run_id", router.RunID())
	s.lastSent = start
	s.lastStatus = time.Now()
	if t.cfg.HeartbeatInterval > 0 {
		s.nextHeartbeat = time.Now().Add(t.cfg.HeartbeatInterval)
	}

	err = s.loop(ctx)
	// On a stop and on an error that fails the task, what the producer
	// already holds is delivered first, as Kafka Connect does (a failed
	// task's producer is closed with a timeout after its final offset
	// commit), unless the producer itself failed. A reconnect resends from
	// the slot instead.
	s.finish(s.produceErr.Load() == nil && (ctx.Err() != nil || !retriable(err)))
	return true, err
}

func (t *Task) capturedTables(ctx context.Context, conn *pgx.Conn) ([]replication.Table, error) {
	all, err := replication.Tables(ctx, conn)
	if err != nil {
		return nil, err
	}
	var out []replication.Table
	for _, tb := range all {
		if t.cfg.Filter.Match(tb.Schema, tb.Name) {
			out = append(out, tb)
		}
	}
	return out, nil
}

// loop reads the stream until ctx ends or something fails.
func (s *streamer) loop(ctx context.Context) error {
	// One clock reading per message serves the wait, the record
	// timestamps and the periodic work.
	now := time.Now()
	heard, askedAt := now, time.Time{}
	for {
		if p := s.produceErr.Load(); p != nil {
			return *p
		}
		if ctx.Err() != nil {
			return nil
		}
		msg, err := s.repl.ReceiveSince(now, receiveWait(now, s.nextHeartbeat, s.inTx))
		if err != nil {
			return err
		}
		now = time.Now()
		if msg != nil {
			heard, askedAt = now, time.Time{}
		} else if err := s.checkSilence(now, heard, &askedAt); err != nil {
			return err
		}
		replyNow := false
		switch m := msg.(type) {
		case *pgoutput.XLogData:
			if err := s.handle(ctx, m, now); err != nil {
				return err
			}
		case *pgoutput.PrimaryKeepalive:
			if !s.inTx {
				s.tracker.Position(m.ServerWALEnd)
			}
			replyNow = m.ReplyRequested
		}
		if err := s.periodic(ctx, replyNow, now); err != nil {
			return err
		}
	}
}

// receiveWait is how long the stream waits for the server's next message
// at now: a quarter of a second, or until the next heartbeat (nextHeartbeat
// zero for none) but at least a millisecond. A heartbeat waits for the
// transaction being read to end, so one due inside it does not shorten
// the wait.
func receiveWait(now, nextHeartbeat time.Time, inTx bool) time.Duration {
	wait := 250 * time.Millisecond
	if !nextHeartbeat.IsZero() && !inTx {
		wait = min(wait, max(nextHeartbeat.Sub(now), time.Millisecond))
	}
	return wait
}

// handle processes one pgoutput message received at now.
func (s *streamer) handle(ctx context.Context, x *pgoutput.XLogData, now time.Time) error {
	msg, err := s.dec.Decode(x.Data)
	if err != nil {
		return permanent(err)
	}
	switch m := msg.(type) {
	case *pgoutput.Begin:
		s.catchUp(now.Sub(m.CommitTime) > catchUpLag)
		s.inTx = true
		s.entry = s.tracker.Open()
		s.txID, s.txCommitTime = m.Xid, m.CommitTime
	case *pgoutput.Commit:
		if s.entry == nil {
			return permanent(errors.New("pgoutput: Commit without Begin"))
		}
		s.tracker.Seal(s.entry, m.TransactionEndLSN, m.CommitTime)
		s.inTx, s.entry = false, nil
		// Debezium's last commit LSN is the stream position of the Commit
		// message: the end of the commit record.
		s.lastCommitLSN = m.TransactionEndLSN
	case *pgoutput.Relation:
		cols, err := s.cat.RelationColumns(ctx, m)
		if err != nil {
			return err
		}
		schema := m.Namespace
		if schema == "" {
			schema = "pg_catalog"
		}
		s.rels[m.RelationID] = &relation{schema: schema, table: m.Name, cols: cols, captured: s.cfg.Filter.Match(schema, m.Name)}
	case *pgoutput.Insert:
		return s.change(ctx, eventrouter.OpCreate, m.RelationID, m.New, nil, now)
	case *pgoutput.Update:
		return s.change(ctx, eventrouter.OpUpdate, m.RelationID, m.New, m.Old, now)
	case *pgoutput.Delete:
		return s.change(ctx, eventrouter.OpDelete, m.RelationID, nil, m.Old, now)
	case *pgoutput.Truncate:
		for _, id := range m.RelationIDs {
			if err := s.change(ctx, eventrouter.OpTruncate, id, nil, nil, now); err != nil {
				return err
			}
		}
	case *pgoutput.LogicalMessage:
		// A transactional message carries its transaction's xid and commit
		// time; one that is not keeps the commit time of the last
		// transaction (Debezium's source info keeps its last timestamp) and
		// counts as a commit of its own.
		lm := eventrouter.LogicalMessage{Transactional: m.Transactional, LSN: uint64(m.LSN), Prefix: m.Prefix, Content: m.Content, CommitTime: s.txCommitTime}
		if m.Transactional {
			lm.TxID, lm.LastCommitLSN = s.txID, uint64(s.lastCommitLSN)
		} else {
			s.lastCommitLSN = m.LSN
		}
		rec, err := s.router.Message(lm, now)
		if err != nil {
			return err
		}
		if m.Transactional {
			if rec != nil {
				return s.produce(s.entry, rec)
			}
			return nil
		}
		e := s.tracker.Open()
		if rec != nil {
			if err := s.produce(e, rec); err != nil {
				return err
			}
		}
		s.tracker.Seal(e, m.LSN, time.Time{})
	}
	return nil
}

// A stream whose transactions arrive more than catchUpLag after their
// commit is working through a backlog: it then reads the server's messages
// in batches, pausing catchUpPause before a read that would wait, instead
// of waking up for each message.
const (
	catchUpLag   = 100 * time.Millisecond
	catchUpPause = time.Millisecond
)

// catchUp switches batched reading on or off.
func (s *streamer) catchUp(behind bool) {
	if behind == s.behind {
		return
	}
	s.behind = behind
	if behind {
		s.repl.CatchUpPause(catchUpPause)
	} else {
		s.repl.CatchUpPause(0)
	}
}
