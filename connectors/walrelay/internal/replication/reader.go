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
// Reads come from one goroutine at a time; pause may be set from another.
type streamConn struct {
	net.Conn
	buf    []byte
	rp, wp int
	err    error // from the read that filled buf, returned once buf is drained
	sparse bool  // the last read found only a few messages
	pause  atomic.Int64
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
		if d := time.Duration(s.pause.Load()); d > 0 && s.sparse {
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
