package socket_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// Hostile peers are plain tcp or unix connections that write bytes; nothing
// of mqwire runs on their side. While they misbehave, a good mqwire client
// streams messages to the same listener, and must lose none.

const (
	hostileLimit = 64 << 10 // MaxRecvSize of the listener under attack
	// hostileHandshake is the handshake timeout while a peer stalls; the
	// other cases run with a generous one, so that a loaded machine does not
	// turn them into timeouts.
	hostileHandshake = 200 * time.Millisecond
)

// goodStream is a well-behaved push client streaming numbered messages to a
// pull socket, and the pull side checking that each arrives once, in order.
type goodStream struct {
	t     testing.TB
	once  sync.Once
	push  *socket.Socket
	stop  chan struct{}
	sent  chan int // how many were sent, once stop is closed
	recvd chan int // how many arrived in order, when the last one did
}

func startGoodStream(t testing.TB, s *socket.Socket, url string) *goodStream {
	g := &goodStream{t: t, stop: make(chan struct{}), sent: make(chan int, 1), recvd: make(chan int, 1)}
	g.push = must(push.New(socket.SendTimeout(timeout)))
	must(g.push.Dial(url))
	go func() {
		n := 0
		defer func() { g.sent <- n }()
		for {
			select {
			case <-g.stop:
				// The last message tells the receiver how many there were.
				if err := g.push.SendBytes([]byte(fmt.Sprintf("end %d", n))); err != nil {
					t.Errorf("good client: %v", err)
				}
				return
			default:
			}
			if err := g.push.SendBytes([]byte(fmt.Sprintf("msg %d", n))); err != nil {
				t.Errorf("good client: %v", err)
				return
			}
			n++
			if n%64 == 0 {
				time.Sleep(time.Millisecond) // leave the hostile peers some room
			}
		}
	}()
	go func() {
		next := 0
		defer func() { g.recvd <- next }()
		for {
			c, cancel := context.WithTimeout(context.Background(), timeout)
			m, err := s.RecvContext(c)
			cancel()
			if err != nil {
				t.Errorf("good stream: recv after %d messages: %v", next, err)
				return
			}
			body := string(m.Body)
			m.Free()
			if want := fmt.Sprintf("msg %d", next); body == want {
				next++
				continue
			}
			if body == fmt.Sprintf("end %d", next) {
				return
			}
			if !strings.HasPrefix(body, "msg ") && !strings.HasPrefix(body, "end ") {
				continue // a hostile peer's good message
			}
			t.Errorf("good stream: got %q, want message %d", body, next)
			return
		}
	}()
	return g
}

// finish stops the stream and checks that nothing was lost. It runs once;
// defer it so that the stream ends before the test does.
func (g *goodStream) finish() { g.once.Do(g.doFinish) }

func (g *goodStream) doFinish() {
	g.t.Helper()
	close(g.stop)
	sent := <-g.sent
	select {
	case got := <-g.recvd:
		if got != sent {
			g.t.Errorf("good client sent %d messages, %d arrived in order", sent, got)
		}
		if sent == 0 {
			g.t.Errorf("good client sent nothing")
		}
	case <-time.After(timeout):
		g.t.Errorf("good stream did not finish")
	}
	g.push.Close()
}

func zmtpGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[8], g[9], g[10], g[11] = 0xff, 1, 0x7f, 3, 1
	copy(g[12:], "NULL")
	return g
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// hostileCase is one way to misbehave, and what the listener must make of it.
type hostileCase struct {
	name    string
	ipcOnly bool
	// act writes the bad bytes; p is connected and nothing is sent yet.
	act     func(p *streamtest.Peer) error
	event   socket.EventType
	want    error  // the sentinel the event's Err matches
	says    string // a phrase of the error text
	counter string // "handshake" or "protocol": which figure counts it
	// stall: the case waits for the handshake timeout, set to
	// hostileHandshake while it runs.
	stall bool
}

func header(p *streamtest.Peer, proto uint16) error {
	if _, err := p.ReadHeader(); err != nil {
		return err
	}
	return p.Write(sp.AppendHeader(nil, proto))
}

var hostileCases = []hostileCase{
	{
		name: "garbage", event: socket.EventHandshakeFailed, want: socket.ErrProtocol,
		says: "bad connection header", counter: "handshake",
		act: func(p *streamtest.Peer) error { return p.Write([]byte("hello, world!\r\n")) },
	},
	{
		// A ZMTP greeting, then a data frame where READY must come.
		name: "zmtp", event: socket.EventHandshakeFailed, want: socket.ErrProtocol,
		says: "zmtp", counter: "handshake",
		act: func(p *streamtest.Peer) error { return p.Write(append(zmtpGreeting(), 0, 1, 'x')) },
	},
	{
		name: "http", event: socket.EventHandshakeFailed, want: socket.ErrProtocol,
		says: "HTTP", counter: "handshake",
		act: func(p *streamtest.Peer) error {
			return p.Write([]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"))
		},
	},
	{
		name: "req talks to pull", event: socket.EventHandshakeFailed, want: socket.ErrPeerMismatch,
		says: "req0", counter: "handshake",
		act: func(p *streamtest.Peer) error { return header(p, sp.ProtoReq0) },
	},
	{
		name: "stall mid-handshake", event: socket.EventHandshakeFailed, want: os.ErrDeadlineExceeded,
		counter: "handshake", stall: true,
		act: func(p *streamtest.Peer) error { return p.Write([]byte{0, 'S', 'P'}) },
	},
	{
		name: "bad ipc type byte", ipcOnly: true, event: socket.EventDisconnected, want: socket.ErrProtocol,
		says: "IPC", counter: "protocol",
		act: func(p *streamtest.Peer) error {
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			return p.Write(append([]byte{2}, append(u64(1), 'x')...))
		},
	},
	{
		name: "size 2^63", event: socket.EventDisconnected, want: socket.ErrTooLarge,
		counter: "protocol",
		act: func(p *streamtest.Peer) error {
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			return p.Write(p.Framing.AppendFrameHeader(nil, 1<<63))
		},
	},
	{
		name: "size MaxRecvSize+1", event: socket.EventDisconnected, want: socket.ErrTooLarge,
		counter: "protocol",
		act: func(p *streamtest.Peer) error {
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			return p.Write(append(p.Framing.AppendFrameHeader(nil, hostileLimit+1), "and a few bytes"...))
		},
	},
	{
		name: "truncated message", event: socket.EventDisconnected, want: socket.ErrProtocol,
		says: "inside a message", counter: "protocol",
		act: func(p *streamtest.Peer) error {
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			if err := p.Write(append(p.Framing.AppendFrameHeader(nil, 100), "ten bytes."...)); err != nil {
				return err
			}
			return p.CloseWrite()
		},
	},
	{
		name: "truncated frame header", event: socket.EventDisconnected, want: socket.ErrProtocol,
		says: "inside a message", counter: "protocol",
		act: func(p *streamtest.Peer) error {
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			if err := p.WriteMsg([]byte("a good one first")); err != nil {
				return err
			}
			if err := p.Write(p.Framing.AppendFrameHeader(nil, 5)[:4]); err != nil {
				return err
			}
			return p.CloseWrite()
		},
	},
}

func TestHostilePeers(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			s := must(pull.New(socket.MaxRecvSize(hostileLimit), socket.HandshakeTimeout(timeout)))
			w := streamtest.Watch(s)
			defer s.Close()
			url := must(s.Listen(testutil.URL(t, tr))).URL()
			g := startGoodStream(t, s, url)
			defer g.finish()
			waitPipes(t, s, 1)
			for _, tc := range hostileCases {
				if tc.ipcOnly && tr != "ipc" {
					continue
				}
				t.Run(tc.name, func(t *testing.T) { runHostile(t, s, w, url, tc) })
			}
			st := s.Stats()
			if st.Pipes != 1 {
				t.Errorf("%d pipes left, want the good one", st.Pipes)
			}
		})
	}
}

func runHostile(t *testing.T, s *socket.Socket, w *streamtest.Watcher, url string, tc hostileCase) {
	if tc.stall {
		if err := s.SetOption(socket.HandshakeTimeout(hostileHandshake)); err != nil {
			t.Fatal(err)
		}
		defer s.SetOption(socket.HandshakeTimeout(timeout))
	}
	before := s.Stats()
	from := w.Len()
	p, err := streamtest.DialPeer(url, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	if err := tc.act(p); err != nil {
		t.Fatalf("hostile peer: %v", err)
	}
	e, err := w.Wait(from, timeout, streamtest.Ends(p.Remote))
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != tc.event {
		t.Fatalf("event %v, want %v", e, tc.event)
	}
	if !errors.Is(e.Err, tc.want) {
		t.Fatalf("event error %v does not match %v", e.Err, tc.want)
	}
	if tc.says != "" && !strings.Contains(e.Err.Error(), tc.says) {
		t.Errorf("event error %q does not say %q", e.Err, tc.says)
	}
	if tc.stall {
		if d := time.Since(start); d < hostileHandshake*3/4 {
			t.Errorf("stalled peer dropped after %v, before the handshake timeout", d)
		}
	}
	if err := p.WaitClosed(timeout); err != nil {
		t.Errorf("the listener did not close the connection: %v", err)
	}
	after := s.Stats()
	hs, pe := after.HandshakeFailures-before.HandshakeFailures, after.ProtocolErrors-before.ProtocolErrors
	switch tc.counter {
	case "handshake":
		if hs != 1 || pe != 0 {
			t.Errorf("HandshakeFailures +%d, ProtocolErrors +%d; want +1, +0", hs, pe)
		}
	case "protocol":
		if hs != 0 || pe != 1 {
			t.Errorf("HandshakeFailures +%d, ProtocolErrors +%d; want +0, +1", hs, pe)
		}
	}
}

// TestHugeAnnouncementDoesNotAllocate announces 1 GiB to a socket with no
// size limit and sends a few bytes: memory follows the bytes that arrive,
// not the size announced. With a limit, nothing is read at all.
func TestHugeAnnouncementDoesNotAllocate(t *testing.T) {
	// ZMTP long frames (flags 0x02, with MORE 0x03) and short ones.
	long := func(flags byte, n uint64) []byte { return append([]byte{flags}, u64(n)...) }
	zmtpPrefix := append(zmtpGreeting(), readyPush()...)
	for _, tc := range []struct {
		name  string
		limit int64
		want  error
		zmtp  []byte // nil: SP; else what goes before the 1 GiB announcement
	}{
		{"no limit", 0, socket.ErrProtocol, nil}, // truncated
		{"1 MiB limit", 1 << 20, socket.ErrTooLarge, nil},
		{"zmtp first frame", 0, socket.ErrProtocol, zmtpPrefix},
		{"zmtp after an empty frame", 0, socket.ErrProtocol, append(append([]byte(nil), zmtpPrefix...), 0x01, 0)},
		{"zmtp after a frame", 0, socket.ErrProtocol, append(append([]byte(nil), zmtpPrefix...), 0x01, 2, 'h', 'i')},
		{"zmtp 1 MiB limit", 1 << 20, socket.ErrTooLarge, zmtpPrefix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s := must(pull.New(socket.MaxRecvSize(tc.limit)))
			defer s.Close()
			w := streamtest.Watch(s)
			url := must(s.Listen("tcp://127.0.0.1:0")).URL()
			// Warm up: one connection first, so that pools and buffers
			// exist before measuring.
			feed := func() socket.Event {
				from := w.Len()
				p, err := streamtest.DialPeer(url, timeout)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				if tc.zmtp != nil {
					p.Write(append(append(append([]byte(nil), tc.zmtp...), long(0x02, 1<<30)...), bytes.Repeat([]byte("x"), 1000)...))
				} else {
					if err := header(p, sp.ProtoPush0); err != nil {
						t.Fatal(err)
					}
					p.Write(append(u64(1<<30), bytes.Repeat([]byte("x"), 1000)...))
				}
				p.CloseWrite()
				e, err := w.Wait(from, timeout, streamtest.Ends(p.Remote))
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			feed()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			e := feed()
			runtime.ReadMemStats(&after)
			if !errors.Is(e.Err, tc.want) {
				t.Errorf("1 GiB announcement: %v, want %v", e, tc.want)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
				t.Errorf("a 1 GiB announcement allocated %d bytes", got)
			} else {
				t.Logf("a 1 GiB announcement allocated %d bytes", got)
			}
		})
	}
}

// TestManyHostilePeers opens 200 hostile connections at once while a good
// client streams; every one is dealt with, memory stays bounded, and the
// good client loses nothing.
func TestManyHostilePeers(t *testing.T) {
	testutil.CheckGoroutines(t)
	const n = 200
	// Stalled handshakes are dropped after a second; the other peers are
	// dealt with at once. The size limit is the default 1 MiB.
	s := must(pull.New(socket.HandshakeTimeout(time.Second)))
	defer s.Close()
	url := must(s.Listen("tcp://127.0.0.1:0")).URL()
	g := startGoodStream(t, s, url)
	defer g.finish()
	waitPipes(t, s, 1)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// Kinds of misbehaviour; the last two keep their connection open (a
	// message under way), the others are dropped by the listener.
	kinds := []func(p *streamtest.Peer) error{
		func(p *streamtest.Peer) error { return p.Write([]byte("garbage garbage")) },
		func(p *streamtest.Peer) error { return p.Write(zmtpGreeting()) },
		func(p *streamtest.Peer) error { return p.Write([]byte("GET / HTTP/1.1\r\n\r\n")) },
		func(p *streamtest.Peer) error { return header(p, sp.ProtoReq0) },
		func(p *streamtest.Peer) error { return p.Write([]byte{0, 'S', 'P'}) },
		func(p *streamtest.Peer) error {
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			return p.Write(u64(1 << 62))
		},
		func(p *streamtest.Peer) error {
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			if err := p.Write(append(u64(1000), "truncated"...)); err != nil {
				return err
			}
			return p.CloseWrite()
		},
		func(p *streamtest.Peer) error { // 1 MiB announced, 1 KiB sent, then a stall
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			return p.Write(append(u64(1<<20), make([]byte, 1024)...))
		},
		func(p *streamtest.Peer) error { // a small message under way, then a stall
			if err := header(p, sp.ProtoPush0); err != nil {
				return err
			}
			return p.Write(append(u64(200<<10), make([]byte, 10)...))
		},
	}
	const stay = 2 // the last kinds stay connected
	const failHandshake = 5
	peers := make([]*streamtest.Peer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := streamtest.DialPeer(url, timeout)
			if err != nil {
				t.Error(err)
				return
			}
			peers[i] = p
			if err := kinds[i%len(kinds)](p); err != nil && !errors.Is(err, io.EOF) {
				t.Logf("hostile peer %d: %v", i, err) // the listener may hang up first
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, p := range peers {
			if p != nil {
				p.Close()
			}
		}
	}()
	staying, hsFailures := 0, 0
	for i := range n {
		switch k := i % len(kinds); {
		case k >= len(kinds)-stay:
			staying++
		case k < failHandshake:
			hsFailures++
		}
	}
	// Every peer that must be dropped is dropped (the stalled ones after
	// the handshake timeout), and the others are still there.
	for i, p := range peers {
		if p == nil || i%len(kinds) >= len(kinds)-stay {
			continue
		}
		if err := p.WaitClosed(timeout); err != nil {
			t.Errorf("hostile peer %d (kind %d): %v", i, i%len(kinds), err)
		}
	}
	waitFor(t, "hostile pipes gone", func() bool { return s.Stats().Pipes == 1+staying })
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	growth := int64(during.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %d KiB with %d hostile peers (%d still connected)", growth>>10, n, staying)
	if growth > 48<<20 {
		t.Errorf("heap in use grew by %d MiB", growth>>20)
	}
	g.finish()
	st := s.Stats()
	if st.HandshakeFailures != uint64(hsFailures) || st.ProtocolErrors != uint64(n-staying-hsFailures) {
		t.Errorf("%d handshake failures and %d protocol errors, want %d and %d",
			st.HandshakeFailures, st.ProtocolErrors, hsFailures, n-staying-hsFailures)
	}
	t.Logf("stats: %+v", st)
}
