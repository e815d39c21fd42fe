package replication

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"time"
)

// streamReadSize is how much a replication connection reads from its
// socket at once: many messages per read while the server sends faster
// than they are handled.
const streamReadSize = 128 << 10

// sparseRead is a read so small that the socket held only a few messages:
// the reader is well ahead of the server.
const sparseRead = 32 << 10

// streamConn is the socket of a replication connection, under TLS and the
// protocol decoder. It reads in large chunks. While the stream catches up
// on a backlog (pause > 0), a read that follows a sparse one first waits
// pause: the walsender sends every message on its own, so reading each as
// it arrives would cost a read and a wakeup per message, while the pause
// lets one read take hundreds. A server that keeps up sends enough between
// two reads for none of them to be sparse, and is never waited for.
//
// A pause never reaches the read deadline: a read after its deadline fails
// without looking at the socket, so a pause as long as the wait would time
// out every read, data waiting or not, for as long as the caller keeps
// asking with waits that short.
//
// Reads come from one goroutine at a time; pause and the deadline may be
// set from another.
type streamConn struct {
	net.Conn
	buf      []byte
	rp, wp   int
	err      error // from the read that filled buf, returned once buf is drained
	sparse   bool  // the last read found only a few messages
	pause    atomic.Int64
	deadline atomic.Int64 // the read deadline in Unix nanoseconds; 0 for none
}

// SetReadDeadline sets the socket's read deadline and remembers it.
func (s *streamConn) SetReadDeadline(t time.Time) error {
	s.deadline.Store(unixNano(t))
	return s.Conn.SetReadDeadline(t)
}

// SetDeadline sets the socket's deadlines and remembers the read one.
func (s *streamConn) SetDeadline(t time.Time) error {
	s.deadline.Store(unixNano(t))
	return s.Conn.SetDeadline(t)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// pauseFor returns how long the next read pauses first: pause after a
// sparse read, unless the deadline would pass by then.
func (s *streamConn) pauseFor() time.Duration {
	d := time.Duration(s.pause.Load())
	if d <= 0 || !s.sparse {
		return 0
	}
	if dl := s.deadline.Load(); dl != 0 && time.Now().Add(d).UnixNano() >= dl {
		return 0
	}
	return d
}

func (s *streamConn) Read(p []byte) (int, error) {
	if s.rp == s.wp {
		if err := s.err; err != nil {
			s.err = nil
			return 0, err
		}
		if s.buf == nil {
			s.buf = make([]byte, streamReadSize)
		}
		if d := s.pauseFor(); d > 0 {
			time.Sleep(d)
		}
		n, err := s.Conn.Read(s.buf)
		s.rp, s.wp = 0, n
		s.sparse = n < sparseRead
		if n == 0 {
			return 0, err
		}
		s.err = err
	}
	n := copy(p, s.buf[s.rp:s.wp])
	s.rp += n
	return n, nil
}

// wrapStreamDial makes dial return streamConns.
func wrapStreamDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &streamConn{Conn: c}, nil
	}
}

// streamConnOf finds the streamConn under a connection's (possibly TLS)
// socket.
func streamConnOf(c net.Conn) *streamConn {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	s, _ := c.(*streamConn)
	return s
}
