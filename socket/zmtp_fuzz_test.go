package socket_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// zmtpHello is what a ZMTP 3.1 PUSH peer sends first: its greeting and its
// READY.
func zmtpHello(socketType string) []byte {
	b := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor31, Mechanism: zmtp.MechanismNull})
	return zmtp.AppendReady(b, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(socketType)})
}

// zmtpFeed connects to url as a ZMTP PUSH, writes data after the
// handshake, closes, and returns the event that ended the connection.
func zmtpFeed(t *testing.T, w *streamtest.Watcher, url string, data []byte) socket.Event {
	t.Helper()
	from := w.Len()
	p, err := streamtest.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	// Write our greeting and READY while reading the socket's (net.Pipe
	// writes wait for the reader), and let the handshake finish before the
	// data, so that a close right after it is not a failed handshake.
	werr := make(chan error, 1)
	go func() { werr <- p.Write(zmtpHello(zmtp.TypePUSH)) }()
	p.Conn.SetReadDeadline(time.Now().Add(fuzzWait))
	var hs [zmtp.GreetingSize + 2]byte
	if _, err := io.ReadFull(p.Conn, hs[:]); err != nil {
		t.Fatalf("reading the greeting: %v", err)
	}
	if _, err := io.ReadFull(p.Conn, make([]byte, hs[len(hs)-1])); err != nil {
		t.Fatalf("reading READY: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("handshake: %v", err)
	}
	p.Conn.SetReadDeadline(time.Time{})
	go func() { // take whatever the socket says, so its writes never block
		io.Copy(io.Discard, p.Conn)
	}()
	p.Write(data)
	p.Close()
	e, err := w.Wait(from, fuzzWait, streamtest.Ends(p.Remote))
	if err != nil {
		t.Fatalf("connection end: %v", err)
	}
	return e
}

// FuzzStreamZMTP feeds a pull socket arbitrary bytes from a ZMTP peer after
// a valid handshake (on the same listener that serves an SP client). What
// must hold: nothing panics; the connection ends cleanly or with an error
// matching ErrProtocol; what arrives is counted and within the size limit;
// the SP client is still served.
func FuzzStreamZMTP(f *testing.F) {
	frame := func(flags byte, b []byte) []byte {
		return append(zmtp.AppendFrameHeader(nil, flags, uint64(len(b))), b...)
	}
	f.Add([]byte{})
	f.Add(frame(0, []byte("hello")))
	f.Add(append(frame(zmtp.FlagMore, []byte("one")), frame(0, []byte("two"))...))
	f.Add(frame(zmtp.FlagMore, nil))
	f.Add(frame(0, make([]byte, fuzzLimit)))
	f.Add(append(frame(zmtp.FlagMore, make([]byte, fuzzLimit)), frame(0, []byte("x"))...))
	f.Add(zmtp.AppendFrameHeader(nil, 0, fuzzLimit+1))
	f.Add(zmtp.AppendFrameHeader(nil, zmtp.FlagLong, 1<<62))
	f.Add([]byte{0x08, 0x00})
	f.Add(zmtp.AppendPing(nil, 10, []byte("ctx")))
	f.Add(zmtp.AppendSubscribe(nil, []byte("topic")))
	f.Add(zmtp.AppendError(nil, "go away"))
	f.Add(zmtp.AppendCommand(nil, "UNKNOWN", []byte("data")))
	f.Add([]byte{zmtp.FlagCommand | zmtp.FlagMore, 1, 'X'})
	f.Add(append(frame(0, []byte("ok")), 0x00, 0x10, 'a'))
	// Commands between messages, which chunked reading handles where it
	// meets them: a PING, a PONG, a PING cut short, one too large to be
	// handled in place, and a PING with a context past its limit.
	f.Add(append(append(append(frame(0, []byte("a")), zmtp.AppendPing(nil, 0, []byte("c1"))...),
		frame(0, []byte("b"))...), zmtp.AppendPong(nil, []byte("c2"))...))
	f.Add(append(frame(0, []byte("a")), zmtp.AppendPing(nil, 5, []byte("ctx"))[:6]...))
	f.Add(append(zmtp.AppendCommand(nil, "SUBSCRIBE", make([]byte, 5000)), frame(0, []byte("after"))...))
	f.Add(append(zmtp.AppendCommand(nil, "PING", append([]byte{0, 0}, make([]byte, 40)...)), frame(0, []byte("z"))...))
	fp := newFuzzPull(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:min(len(data), fuzzMaxInput)]
		before := fp.s.Stats()
		e := zmtpFeed(t, fp.w, fp.urls[0], data)
		if e.Type != socket.EventDisconnected {
			t.Fatalf("connection ended with %v", e)
		}
		// A write to a peer that has gone (a PONG, say) may end the pipe
		// before the reader sees the end of the stream: that is the peer
		// leaving, not a protocol error.
		gone := errors.Is(e.Err, io.ErrClosedPipe) || neterr.BrokenPipe(e.Err) || neterr.ConnReset(e.Err)
		if e.Err != nil && !errors.Is(e.Err, socket.ErrProtocol) && !gone {
			t.Fatalf("ended with %v (%T), not a protocol error", e.Err, e.Err)
		}
		fp.checkDelivered(t, before, e)
		fp.roundTrip(t)
	})
}

// checkDelivered checks what a fuzzed connection that ended with e
// delivered: every message counted arrived, none over the limit, none
// uncounted, and a protocol error was counted once (as a failed handshake
// when it ended the handshake).
func (fp *fuzzPull) checkDelivered(t *testing.T, before socket.Stats, e socket.Event) {
	t.Helper()
	after := fp.s.Stats()
	n := after.MessagesIn - before.MessagesIn
	for i := range n {
		select {
		case got := <-fp.fuzzCh:
			if len(got) > fuzzLimit {
				t.Fatalf("message %d of %d bytes, above the limit", i, len(got))
			}
		case <-time.After(fuzzWait):
			t.Fatalf("message %d of %d counted but not received", i, n)
		}
	}
	select {
	case got := <-fp.fuzzCh:
		t.Fatalf("uncounted message %q", got)
	default:
	}
	if errors.Is(e.Err, socket.ErrProtocol) {
		counter, grew := "ProtocolErrors", after.ProtocolErrors-before.ProtocolErrors
		if e.Type == socket.EventHandshakeFailed {
			counter, grew = "HandshakeFailures", after.HandshakeFailures-before.HandshakeFailures
		}
		if grew != 1 {
			t.Fatalf("%s grew by %d for %v", counter, grew, e.Err)
		}
	}
}

// zmtp20Signature is what a ZMTP 2.0 peer sends up to its revision.
var zmtp20Signature = []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, zmtp.Revision20}

// FuzzStreamZMTP20 feeds a pull socket a ZMTP 2.0 peer's arbitrary bytes
// after its revision byte: its socket type, its identity frame and what
// follows. What must hold: nothing panics; the connection ends in its
// handshake or after it, cleanly or with an error matching ErrProtocol
// or ErrPeerMismatch (or the stream's early end, in the handshake); what
// arrives is counted and within the size limit; the other client is still
// served.
func FuzzStreamZMTP20(f *testing.F) {
	push20 := func(more ...byte) []byte { return append([]byte{8, 0, 0}, more...) } // PUSH, no identity
	f.Add([]byte{})
	f.Add([]byte{8})
	f.Add(push20())
	f.Add(push20(0, 5, 'h', 'e', 'l', 'l', 'o'))
	f.Add(push20(zmtp.FlagMore, 3, 'o', 'n', 'e', 0, 3, 't', 'w', 'o'))
	f.Add(push20(zmtp.FlagCommand, 5, 4, 'P', 'I', 'N', 'G'))
	f.Add(push20(zmtp.FlagLong, 0, 0, 0, 0, 0, 0, 0x10, 0))
	f.Add([]byte{8, 0, 3, 'j', 'a', 'v', 0, 1, 'x'})
	f.Add([]byte{8, zmtp.FlagMore, 1, 'x'})
	f.Add([]byte{8, zmtp.FlagLong, 0, 0, 0, 0, 0, 0, 0, 1, 'x'})
	f.Add([]byte{0, 0, 0})   // PAIR: not a PULL's peer
	f.Add([]byte{200, 0, 0}) // no such socket type
	fp := newFuzzPull(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:min(len(data), fuzzMaxInput)]
		before := fp.s.Stats()
		from := fp.w.Len()
		p, err := streamtest.Connect(fp.urls[0])
		if err != nil {
			t.Fatal(err)
		}
		go func() { // take whatever the socket says, so its writes never block
			io.Copy(io.Discard, p.Conn)
		}()
		p.Write(append(bytes.Clone(zmtp20Signature), data...))
		p.Close()
		e, err := fp.w.Wait(from, fuzzWait, streamtest.Ends(p.Remote))
		if err != nil {
			t.Fatalf("connection end: %v", err)
		}
		gone := errors.Is(e.Err, io.ErrClosedPipe) || neterr.BrokenPipe(e.Err) || neterr.ConnReset(e.Err)
		cutShort := e.Type == socket.EventHandshakeFailed && (errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF))
		if e.Err != nil && !errors.Is(e.Err, socket.ErrProtocol) && !errors.Is(e.Err, socket.ErrPeerMismatch) && !gone && !cutShort {
			t.Fatalf("%v with %v (%T), not a protocol error", e.Type, e.Err, e.Err)
		}
		fp.checkDelivered(t, before, e)
		fp.roundTrip(t)
	})
}
