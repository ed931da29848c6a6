// Package zmq4_test runs mqwire's ZeroMQ socket types against the pure-Go
// module github.com/go-zeromq/zmq4 (v0.17.0) in the same process: every
// compatible pairing, with mqwire listening and zmq4 dialing and the
// reverse, over tcp and ipc, with multipart messages.
//
// zmq4 speaks ZMTP 3.0 only (its greeting says minor version 0), so these
// tests also exercise mqwire's per-peer 3.0 handling: subscriptions travel
// as one-frame data messages, 1 or 0 then the topic, not as SUBSCRIBE and
// CANCEL commands. The peer is a Go module pinned in go.mod, so it is never
// missing; a test skips only where a named zmq4 defect makes the pairing
// fail, and says which.
package zmq4_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// timeout bounds every single wait of a test; a healthy run takes
// milliseconds.
const timeout = 5 * time.Second

// transports are those both libraries share as byte streams.
var transports = []string{"tcp", "ipc"}

// messages is how many messages each direction of a test sends.
const messages = 20

// logBuf collects what a zmq4 socket logs, to show it when a test fails.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// peer is a zmq4 socket under test.
type peer struct {
	zmq4.Socket
	log *logBuf
}

// zmqOpts are the options of every zmq4 socket here: sends give up after
// timeout (zmq4's default is five minutes) and a failed dial is not retried
// for long. lb receives its log.
func zmqOpts(lb *logBuf, more ...zmq4.Option) []zmq4.Option {
	return append([]zmq4.Option{
		zmq4.WithTimeout(timeout),
		zmq4.WithDialerRetry(10 * time.Millisecond),
		zmq4.WithDialerMaxRetries(100),
		zmq4.WithLogger(log.New(lb, "zmq4: ", 0)),
	}, more...)
}

// newMQ returns a function that passes a new mqwire socket through, failing
// t if making it failed. Use it as newMQ(t)(req.New()).
func newMQ(t testing.TB) func(*socket.Socket, error) *socket.Socket {
	return func(s *socket.Socket, err error) *socket.Socket {
		t.Helper()
		if err != nil {
			t.Fatalf("mqwire socket: %v", err)
		}
		return s
	}
}

// connect links mq and z over a fresh address of transport, mqwire
// listening when mqListens and zmq4 listening otherwise, and waits until
// mqwire has the connection. zmq4's Dial returns after the handshake; when
// zmq4 listens it adds the connection right after its handshake, and its
// senders wait for a first connection, so what mqwire sees is enough.
func connect(t testing.TB, transport string, mqListens bool, mq *socket.Socket, z *peer) {
	t.Helper()
	if mqListens {
		ln, err := mq.Listen(testutil.URL(t, transport))
		if err != nil {
			t.Fatalf("mqwire listen: %v", err)
		}
		if err := z.Dial(ln.URL()); err != nil {
			t.Fatalf("zmq4 dial %s: %v", ln.URL(), err)
		}
	} else {
		url := testutil.URL(t, transport)
		if err := z.Listen(url); err != nil {
			t.Fatalf("zmq4 listen %s: %v", url, err)
		}
		if transport == "tcp" {
			url = "tcp://" + z.Addr().String() // the port zmq4 was given
		}
		if _, err := mq.Dial(url); err != nil {
			t.Fatalf("mqwire dial %s: %v", url, err)
		}
	}
	waitFor(t, "mqwire connected", func() bool { return mq.Stats().Pipes >= 1 })
}

// waitFor polls cond until it holds, failing t after timeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, timeout, cond)
}

// closeBoth closes both sockets when the test ends; with a goroutine check
// registered before it, the check measures after both are closed.
func closeBoth(t testing.TB, mq *socket.Socket, z *peer) {
	t.Cleanup(func() {
		if err := z.Close(); err != nil && !isClosing(err) {
			t.Errorf("zmq4 close: %v", err)
		}
		if err := mq.Close(); err != nil && !errors.Is(err, socket.ErrClosed) {
			t.Errorf("mqwire close: %v", err)
		}
		if t.Failed() {
			if l := z.log.String(); l != "" {
				t.Logf("zmq4 log:\n%s", l)
			}
		}
	})
}

// isClosing reports whether err is zmq4 telling that a connection was
// already closed (by the peer, or by zmq4's own reader), which is fine at
// the end of a test.
func isClosing(err error) bool {
	return strings.Contains(err.Error(), "use of closed network connection")
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

// body returns the i-th test message of a run tagged tag: the sizes vary
// from a few bytes to above 255 (ZMTP's long frames) and to above the size
// where mqwire's writer hands bodies to writev instead of copying them, and
// the bytes are not all ASCII.
func body(tag string, i int) []byte {
	b := fmt.Appendf(nil, "%s-%03d:", tag, i)
	n := (i * 997) % 3000
	if i%7 == 6 {
		n = 40000 + i
	}
	for j := range n {
		b = append(b, byte(i+j*31))
	}
	return b
}

// parts returns the i-th multipart test message of a run tagged tag: a
// body, a short frame, and (when withEmpty) an empty frame at the end.
func parts(tag string, i int, withEmpty bool) [][]byte {
	p := [][]byte{body(tag, i), fmt.Appendf(nil, "part-two-%d", i)}
	if withEmpty {
		p = append(p, []byte{})
	}
	return p
}

func mqSend(t testing.TB, s *socket.Socket, frames ...[]byte) {
	t.Helper()
	m := socket.NewMessageBytes(frames[0])
	m.Frames = frames[1:]
	if err := s.SendContext(ctx(t), m); err != nil {
		t.Fatalf("mqwire send %.12q: %v", frames[0], err)
	}
}

func mqRecv(t testing.TB, s *socket.Socket) [][]byte {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatalf("mqwire recv: %v", err)
	}
	defer m.Free()
	out := [][]byte{bytes.Clone(m.Body)}
	for _, f := range m.Frames {
		out = append(out, bytes.Clone(f))
	}
	return out
}

// zSend sends frames as one message from z. zmq4's REQ fails a send at
// once while it has no connection (libzmq and mqwire wait for one), and a
// zmq4 listener adds a connection a moment after mqwire has seen it, so
// that failure is retried until timeout.
func zSend(t testing.TB, z *peer, frames ...[]byte) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := z.Send(zmq4.NewMsgFrom(frames...))
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "no connections available") || time.Now().After(deadline) {
			t.Fatalf("zmq4 send %.12q: %v", frames[0], err)
		}
		time.Sleep(time.Millisecond)
	}
}

// zRecv receives a message from z. zmq4's Recv has no deadline, so it runs
// in a goroutine; one left waiting after a failure returns when the test's
// cleanup closes z.
func zRecv(t testing.TB, z *peer) [][]byte {
	t.Helper()
	type result struct {
		m   zmq4.Msg
		err error
	}
	got := make(chan result, 1)
	go func() {
		m, err := z.Recv()
		got <- result{m, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("zmq4 recv: %v", r.err)
		}
		return r.m.Frames
	case <-time.After(timeout):
		t.Fatalf("zmq4 recv: nothing in %v", timeout)
		return nil
	}
}

// same fails t if got is not want, showing only the heads of long frames.
func same(t testing.TB, who string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s got %d frames %s, want %d frames %s", who, len(got), show(got), len(want), show(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s got %s, want %s (frame %d differs)", who, show(got), show(want), i)
		}
	}
}

func show(frames [][]byte) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range frames {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%.16q", len(f), f)
	}
	b.WriteByte(']')
	return b.String()
}

// cat returns the frames a then b, as one list.
func cat(a [][]byte, b ...[]byte) [][]byte {
	return append(append([][]byte(nil), a...), b...)
}

// checkGoroutinesExcept is testutil.CheckGoroutines leaving out of the
// count the goroutines whose stack mentions fn: a known zmq4 leak. It
// fails t if, once the test's cleanups have run, more of the other
// goroutines are alive than when it was called (waiting up to 5 s).
func checkGoroutinesExcept(t testing.TB, fn string) {
	t.Helper()
	before, _ := goroutinesExcept(fn)
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, stacks := goroutinesExcept(fn)
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines (not counting %s) left after the test (started with %d):\n%s", n, fn, before, stacks)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// goroutinesExcept counts the goroutines whose stack does not mention fn
// and returns their stacks.
func goroutinesExcept(fn string) (int, string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var n int
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.TrimSpace(g) == "" || strings.Contains(g, fn) {
			continue
		}
		n++
		keep = append(keep, g)
	}
	return n, strings.Join(keep, "\n\n")
}
