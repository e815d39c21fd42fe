package replication

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection, the client end
// wrapped as a replication connection's socket.
func tcpPair(t *testing.T) (server net.Conn, client *streamConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := wrapStreamDial((&net.Dialer{}).DialContext)
	c, err := dial(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sc := streamConnOf(c)
	if sc == nil {
		t.Fatalf("dialled %T, not a streamConn", c)
	}
	return s, sc
}

func TestStreamConnPassesBytesThrough(t *testing.T) {
	server, client := tcpPair(t)
	client.pause.Store(int64(time.Millisecond))
	want := make([]byte, 3*streamReadSize+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	go func() {
		// Uneven writes: some reads find a little, some a lot.
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(40000))
			if _, err := server.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		server.Close()
	}()
	var got bytes.Buffer
	p := make([]byte, 8192)
	for {
		n, err := client.Read(p)
		got.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not the %d written", got.Len(), len(want))
	}
	if n, err := client.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("read after EOF = %d, %v", n, err)
	}
}

func TestStreamConnPausesOnlyWhenCatchingUp(t *testing.T) {
	const pause = 30 * time.Millisecond
	tests := []struct {
		name  string
		pause time.Duration
	}{
		{"catching up", pause},
		{"live", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := tcpPair(t)
			client.pause.Store(int64(tt.pause))
			p := make([]byte, 16)
			for i, msg := range []string{"first", "second", "third"} {
				if _, err := server.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				n, err := io.ReadFull(client, p[:len(msg)])
				if err != nil || string(p[:n]) != msg {
					t.Fatalf("read %q, %v; want %q", p[:n], err, msg)
				}
				// Each read was sparse: while catching up, the next one
				// waits first.
				if waited := time.Since(start); i > 0 && tt.pause > 0 && waited < tt.pause {
					t.Fatalf("read %d waited %s, want at least %s", i, waited, tt.pause)
				}
			}
		})
	}
}

// A caller that asks with waits shorter than the pause (a stream whose
// heartbeat is due) still gets the bytes waiting on the socket: a pause
// that outlasted the read deadline made every read time out without
// reading, and the stream stood still for good.
func TestStreamConnPauseNeverOutlastsTheDeadline(t *testing.T) {
	tests := []struct {
		name  string
		pause time.Duration
		wait  time.Duration
	}{
		{"wait as long as the pause", time.Millisecond, time.Millisecond},
		{"wait shorter than the pause", 50 * time.Millisecond, 5 * time.Millisecond},
		{"wait longer than the pause", time.Millisecond, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := tcpPair(t)
			client.pause.Store(int64(tt.pause))
			p := make([]byte, 16)
			// A first, sparse read: the next one would pause.
			if _, err := server.Write([]byte("first")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(client, p[:len("first")]); err != nil {
				t.Fatal(err)
			}
			// A read that times out with nothing there is sparse too.
			if err := client.SetReadDeadline(time.Now().Add(tt.wait)); err != nil {
				t.Fatal(err)
			}
			if n, err := client.Read(p); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read on an idle socket = %d, %v; want a timeout", n, err)
			}
			if _, err := server.Write([]byte("second")); err != nil {
				t.Fatal(err)
			}
			give := time.Now().Add(5 * time.Second)
			for {
				if err := client.SetReadDeadline(time.Now().Add(tt.wait)); err != nil {
					t.Fatal(err)
				}
				n, err := client.Read(p)
				if n > 0 {
					if string(p[:n]) != "second" {
						t.Fatalf("read %q, want %q", p[:n], "second")
					}
					return
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read: %v", err)
				}
				if time.Now().After(give) {
					t.Fatalf("bytes waiting on the socket not read in 5s of %s reads pausing %s", tt.wait, tt.pause)
				}
			}
		})
	}
}
