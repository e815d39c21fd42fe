package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
)

// ErrStreamEnded reports that the server ended the replication stream
// (CopyDone) without an error.
var ErrStreamEnded = errors.New("replication: server ended the stream")

// Conn is a replication=database connection to one database.
type Conn struct {
	pg      *pgconn.PgConn
	in      *streamConn
	dec     pgoutput.Decoder
	started bool
	buf     []byte
	// readDeadline is the read deadline last set on the socket.
	readDeadline time.Time
}

// Connect opens a replication connection. connString is a pgconn
// connection string for the database to stream; replication=database is
// added.
func Connect(ctx context.Context, connString string) (*Conn, error) {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("replication: connection string: %w", err)
	}
	cfg.RuntimeParams["replication"] = "database"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "walrelay"
	}
	cfg.DialFunc = wrapStreamDial(cfg.DialFunc)
	pg, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replication: connect: %w", err)
	}
	return &Conn{pg: pg, in: streamConnOf(pg.Conn())}, nil
}

// CatchUpPause sets how long a read that would wait for the server first
// pauses, so that messages arrive in batches: 0 (the default) reads each
// message as soon as it arrives, for low latency; a millisecond or so while
// the stream is behind saves a wakeup per message.
func (c *Conn) CatchUpPause(d time.Duration) {
	if c.in != nil {
		c.in.pause.Store(int64(d))
	}
}

// Close closes the connection. A running stream ends; the slot keeps its
// confirmed position.
func (c *Conn) Close(ctx context.Context) error {
	return c.pg.Close(ctx)
}

// System is the answer to IDENTIFY_SYSTEM.
type System struct {
	SystemID string
	Timeline int32
	XLogPos  pgoutput.LSN
	DBName   string
}

// IdentifySystem runs IDENTIFY_SYSTEM.
func (c *Conn) IdentifySystem(ctx context.Context) (System, error) {
	res, err := c.pg.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	if err != nil {
		return System{}, fmt.Errorf("replication: IDENTIFY_SYSTEM: %w", err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) < 4 {
		return System{}, fmt.Errorf("replication: IDENTIFY_SYSTEM: unexpected result shape")
	}
	row := res[0].Rows[0]
	var s System
	s.SystemID = string(row[0])
	if _, err := fmt.Sscan(string(row[1]), &s.Timeline); err != nil {
		return System{}, fmt.Errorf("replication: IDENTIFY_SYSTEM timeline %q: %w", row[1], err)
	}
	if s.XLogPos, err = pgoutput.ParseLSN(string(row[2])); err != nil {
		return System{}, fmt.Errorf("replication: IDENTIFY_SYSTEM: %w", err)
	}
	s.DBName = string(row[3])
	return s, nil
}

// CreatedSlot is the answer to CREATE_REPLICATION_SLOT.
type CreatedSlot struct {
	Name string
	// ConsistentPoint is where the slot starts: transactions that commit
	// after it are streamed, the rest are in the exported snapshot.
	ConsistentPoint pgoutput.LSN
	// SnapshotName is set when a snapshot was exported. It stays usable
	// (SET TRANSACTION SNAPSHOT) until this connection runs its next
	// command.
	SnapshotName string
}

// CreateSlot creates a permanent logical slot using pgoutput. With
// exportSnapshot the slot's starting snapshot is exported for ReadSnapshot;
// the next command on this connection (Start) ends it.
func (c *Conn) CreateSlot(ctx context.Context, name string, exportSnapshot bool) (CreatedSlot, error) {
	snap := "NOEXPORT_SNAPSHOT"
	if exportSnapshot {
		snap = "EXPORT_SNAPSHOT"
	}
	q := fmt.Sprintf("CREATE_REPLICATION_SLOT %s LOGICAL pgoutput %s", quoteIdent(name), snap)
	res, err := c.pg.Exec(ctx, q).ReadAll()
	if err != nil {
		return CreatedSlot{}, fmt.Errorf("replication: create slot %s: %w", name, err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) < 3 {
		return CreatedSlot{}, fmt.Errorf("replication: create slot %s: unexpected result shape", name)
	}
	row := res[0].Rows[0]
	cp, err := pgoutput.ParseLSN(string(row[1]))
	if err != nil {
		return CreatedSlot{}, fmt.Errorf("replication: create slot %s: %w", name, err)
	}
	return CreatedSlot{Name: string(row[0]), ConsistentPoint: cp, SnapshotName: string(row[2])}, nil
}

// StartOptions are the pgoutput options of a stream.
type StartOptions struct {
	Publication string
	// Messages streams pg_logical_emit_message messages (PostgreSQL 14+).
	Messages bool
}

// Start runs START_REPLICATION on the slot from start (the server starts
// at the slot's confirmed position when start is before it) with pgoutput
// protocol version 1. After it returns, use Receive and SendStatus only.
func (c *Conn) Start(ctx context.Context, slot string, start pgoutput.LSN, opts StartOptions) error {
	args := []string{"proto_version '1'", "publication_names " + quoteLiteral(quoteIdent(opts.Publication))}
	if opts.Messages {
		args = append(args, "messages 'true'")
	}
	q := fmt.Sprintf("START_REPLICATION SLOT %s LOGICAL %s (%s)", quoteIdent(slot), start, strings.Join(args, ", "))
	c.pg.Frontend().Send(&pgproto3.Query{String: q})
	if err := c.pg.Frontend().Flush(); err != nil {
		return fmt.Errorf("replication: start: %w", err)
	}
	for {
		msg, err := c.pg.ReceiveMessage(ctx)
		if err != nil {
			return fmt.Errorf("replication: start: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyBothResponse:
			c.started = true
			return nil
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication: start: %w", pgconn.ErrorResponseToPgError(m))
		}
	}
}

// Receive waits up to wait for the next message of a started stream and
// returns it (*pgoutput.XLogData or *pgoutput.PrimaryKeepalive). It
// returns (nil, nil) when nothing arrived in time, which may be up to an
// eighth of wait early, never late. The message, XLogData.Data included,
// is only valid until the next Receive: it aliases the connection's read
// buffer.
func (c *Conn) Receive(wait time.Duration) (pgoutput.CopyMessage, error) {
	return c.ReceiveSince(time.Now(), wait)
}

// ReceiveSince is Receive for a caller that has just read the clock: the
// wait counts from now.
func (c *Conn) ReceiveSince(now time.Time, wait time.Duration) (pgoutput.CopyMessage, error) {
	if !c.started {
		return nil, errors.New("replication: receive before start")
	}
	// A read deadline instead of a context: no goroutine per message, and
	// a timed-out read leaves the connection usable. Setting one costs a
	// timer update, so the one already set is kept while it is not late
	// and not much earlier than asked.
	deadline := now.Add(wait)
	if early := deadline.Sub(c.readDeadline); early < 0 || early > wait/8 {
		if err := c.pg.Conn().SetReadDeadline(deadline); err != nil {
			return nil, fmt.Errorf("replication: receive: %w", err)
		}
		c.readDeadline = deadline
	}
	for {
		msg, err := c.pg.ReceiveMessage(context.Background())
		if err != nil {
			if pgconn.Timeout(err) {
				// The deadline has passed; the next call sets a new one.
				c.readDeadline = time.Time{}
				return nil, nil
			}
			return nil, fmt.Errorf("replication: receive: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			// The payload aliases the connection's read buffer, which the
			// next receive overwrites: so does the message.
			cm, err := c.dec.DecodeCopyData(m.Data)
			if err != nil {
				return nil, fmt.Errorf("replication: receive: %w", err)
			}
			return cm, nil
		case *pgproto3.ErrorResponse:
			return nil, fmt.Errorf("replication: receive: %w", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyDone:
			return nil, ErrStreamEnded
		}
		// Notices and parameter status changes: keep reading.
	}
}

// SendStatus sends a standby status update. For a logical slot, flush
// becomes the slot's confirmed_flush_lsn.
func (c *Conn) SendStatus(write, flush pgoutput.LSN, replyRequested bool) error {
	u := pgoutput.StandbyStatusUpdate{
		WALWrite:       write,
		WALFlush:       flush,
		WALApply:       flush,
		ClientTime:     time.Now(),
		ReplyRequested: replyRequested,
	}
	c.buf = u.Append(c.buf[:0])
	c.pg.Frontend().Send(&pgproto3.CopyData{Data: c.buf})
	if err := c.pg.Conn().SetWriteDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return fmt.Errorf("replication: send status: %w", err)
	}
	if err := c.pg.Frontend().Flush(); err != nil {
		return fmt.Errorf("replication: send status: %w", err)
	}
	return nil
}

// quoteIdent quotes a SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes a SQL string literal.
func quoteLiteral(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
