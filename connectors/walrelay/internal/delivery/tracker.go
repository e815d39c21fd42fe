package delivery

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
)

// Entry is one unit of tracked work: its records are acknowledged
// independently, its position is confirmed once all of them are.
type Entry struct {
	lsn        pgoutput.LSN
	pending    int
	records    int
	sealed     bool
	commitTime time.Time
}

// Tracker keeps the entries in stream order. Open, Add, Seal and Position
// are called by the single reader of the stream; Ack may be called from
// any goroutine (producer callbacks).
type Tracker struct {
	mu        sync.Mutex
	entries   []*Entry // entries[head:] are live
	head      int
	confirmed pgoutput.LSN
	// confirmedAt mirrors confirmed for Confirmed, which the reader asks
	// after every message.
	confirmedAt atomic.Uint64
	// onDone observes each finished entry that had records (commit-to-ack
	// lag); called with the lock held, so it must not call back.
	onDone func(commitTime time.Time, records int)
}

// NewTracker returns a tracker whose confirmable position starts at start
// (the slot's confirmed position). onDone, if not nil, is told about every
// finished entry that produced records.
func NewTracker(start pgoutput.LSN, onDone func(commitTime time.Time, records int)) *Tracker {
	t := &Tracker{confirmed: start, onDone: onDone}
	t.confirmedAt.Store(uint64(start))
	return t
}

// Open starts a new entry (a transaction, a message, a heartbeat). Records
// are added to it until Seal.
func (t *Tracker) Open() *Entry {
	e := &Entry{}
	t.mu.Lock()
	t.entries = append(t.entries, e)
	t.mu.Unlock()
	return e
}

// Add counts one more record of e in flight. Call it before producing.
func (t *Tracker) Add(e *Entry) {
	t.mu.Lock()
	e.pending++
	e.records++
	t.mu.Unlock()
}

// Seal ends e at lsn (for a transaction, the end of its commit record);
// commitTime is when the work happened in PostgreSQL.
func (t *Tracker) Seal(e *Entry, lsn pgoutput.LSN, commitTime time.Time) {
	t.mu.Lock()
	e.lsn = lsn
	e.commitTime = commitTime
	e.sealed = true
	t.advance()
	t.mu.Unlock()
}

// Ack records the broker's acknowledgement of one record of e.
func (t *Tracker) Ack(e *Entry) {
	t.mu.Lock()
	e.pending--
	t.advance()
	t.mu.Unlock()
}

// Position reports a stream position with nothing left to produce before
// it apart from the live entries (a keepalive's WAL end while no
// transaction is open). It becomes confirmable when they finish.
func (t *Tracker) Position(lsn pgoutput.LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head == len(t.entries) {
		t.confirm(lsn)
		return
	}
	// Extend a finished tail instead of queueing a marker per keepalive.
	if tail := t.entries[len(t.entries)-1]; tail.sealed && tail.pending == 0 && tail.records == 0 {
		tail.lsn = max(tail.lsn, lsn)
		return
	}
	t.entries = append(t.entries, &Entry{lsn: lsn, sealed: true})
}

// Confirmed returns the newest position all of whose records were
// acknowledged.
func (t *Tracker) Confirmed() pgoutput.LSN {
	return pgoutput.LSN(t.confirmedAt.Load())
}

// confirm moves the confirmable position forward to lsn. Called with the
// lock held.
func (t *Tracker) confirm(lsn pgoutput.LSN) {
	if lsn > t.confirmed {
		t.confirmed = lsn
		t.confirmedAt.Store(uint64(lsn))
	}
}

// InFlight returns the number of records produced but not acknowledged.
func (t *Tracker) InFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.entries[t.head:] {
		n += e.pending
	}
	return n
}

// advance pops finished entries off the front. Called with the lock held.
func (t *Tracker) advance() {
	for t.head < len(t.entries) {
		e := t.entries[t.head]
		if !e.sealed || e.pending > 0 {
			break
		}
		t.confirm(e.lsn)
		if e.records > 0 && t.onDone != nil {
			t.onDone(e.commitTime, e.records)
		}
		t.entries[t.head] = nil
		t.head++
	}
	// Reclaim the popped prefix once it dominates the slice.
	if t.head > 64 && t.head*2 > len(t.entries) {
		n := copy(t.entries, t.entries[t.head:])
		clear(t.entries[n:])
		t.entries = t.entries[:n]
		t.head = 0
	}
}
