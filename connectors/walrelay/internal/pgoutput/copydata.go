package pgoutput

import (
	"encoding/binary"
	"fmt"
	"time"
)

// CopyData message type bytes of the streaming replication protocol.
const (
	CopyXLogData            = 'w'
	CopyPrimaryKeepalive    = 'k'
	CopyStandbyStatusUpdate = 'r'
)

// CopyMessage is one decoded CopyData payload of a replication stream:
// *XLogData, *PrimaryKeepalive or *StandbyStatusUpdate.
type CopyMessage interface {
	copyMessage()
}

// XLogData carries WAL data; for logical replication, one pgoutput message.
type XLogData struct {
	// WALStart is the position the data starts at. pgoutput sets it to the
	// LSN its callback was invoked for (the transaction's end for Commit).
	WALStart LSN
	// ServerWALEnd is the server's current end of WAL.
	ServerWALEnd LSN
	// ServerTime is the server's clock when it sent the message.
	ServerTime time.Time
	// Data is the pgoutput message; decode it with Parse.
	Data []byte
}

// PrimaryKeepalive is the server's periodic "still here" message.
type PrimaryKeepalive struct {
	// ServerWALEnd is the position the server has sent up to.
	ServerWALEnd LSN
	// ServerTime is the server's clock when it sent the message.
	ServerTime time.Time
	// ReplyRequested asks the client to send a StandbyStatusUpdate now,
	// or be disconnected after wal_sender_timeout.
	ReplyRequested bool
}

// StandbyStatusUpdate is the client's progress report. For a logical slot,
// WALFlush becomes the slot's confirmed_flush_lsn: the server may then
// recycle WAL the slot no longer needs and will not resend transactions
// that committed before it.
type StandbyStatusUpdate struct {
	WALWrite       LSN
	WALFlush       LSN
	WALApply       LSN
	ClientTime     time.Time
	ReplyRequested bool
}

func (*XLogData) copyMessage()            {}
func (*PrimaryKeepalive) copyMessage()    {}
func (*StandbyStatusUpdate) copyMessage() {}

// standbyStatusUpdateLen is the encoded size: type byte, three LSNs, a
// timestamp and the reply flag.
const standbyStatusUpdateLen = 1 + 8 + 8 + 8 + 8 + 1

// Append appends the CopyData payload of u (send it wrapped in a
// pgproto3.CopyData) to dst.
func (u *StandbyStatusUpdate) Append(dst []byte) []byte {
	dst = append(dst, CopyStandbyStatusUpdate)
	dst = binary.BigEndian.AppendUint64(dst, uint64(u.WALWrite))
	dst = binary.BigEndian.AppendUint64(dst, uint64(u.WALFlush))
	dst = binary.BigEndian.AppendUint64(dst, uint64(u.WALApply))
	dst = binary.BigEndian.AppendUint64(dst, uint64(timeToPG(u.ClientTime)))
	if u.ReplyRequested {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// ParseCopyData decodes one CopyData payload received after
// START_REPLICATION. XLogData.Data aliases b.
func ParseCopyData(b []byte) (CopyMessage, error) {
	return parseCopyData(b, nil)
}

// DecodeCopyData decodes like ParseCopyData, reusing d's storage: what it
// returns is valid until its next call.
func (d *Decoder) DecodeCopyData(b []byte) (CopyMessage, error) {
	return parseCopyData(b, d)
}

// parseCopyData decodes b into d's storage, or into new values when d is
// nil.
func parseCopyData(b []byte, d *Decoder) (CopyMessage, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty CopyData", ErrMalformed)
	}
	r := &reader{b: b, off: 1}
	switch b[0] {
	case CopyXLogData:
		var m *XLogData
		if d != nil {
			m = &d.xlog
		} else {
			m = new(XLogData)
		}
		*m = XLogData{
			WALStart:     r.lsn("XLogData WAL start"),
			ServerWALEnd: r.lsn("XLogData WAL end"),
			ServerTime:   r.time("XLogData send time"),
		}
		m.Data = r.rest()
		return m, r.done()
	case CopyPrimaryKeepalive:
		var m *PrimaryKeepalive
		if d != nil {
			m = &d.keepalive
		} else {
			m = new(PrimaryKeepalive)
		}
		*m = PrimaryKeepalive{
			ServerWALEnd:   r.lsn("keepalive WAL end"),
			ServerTime:     r.time("keepalive send time"),
			ReplyRequested: r.u8("keepalive reply flag") != 0,
		}
		return m, r.done()
	case CopyStandbyStatusUpdate:
		m := &StandbyStatusUpdate{
			WALWrite:       r.lsn("status write LSN"),
			WALFlush:       r.lsn("status flush LSN"),
			WALApply:       r.lsn("status apply LSN"),
			ClientTime:     r.time("status client time"),
			ReplyRequested: r.u8("status reply flag") != 0,
		}
		return m, r.done()
	default:
		return nil, fmt.Errorf("%w: CopyData type %q", ErrUnsupported, b[0])
	}
}
