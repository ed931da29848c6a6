package socket_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
)

// The stream fuzz targets play a peer that completes the SP handshake and
// then sends arbitrary bytes. A model of the SP stream (below) says what the
// socket must make of them: which messages arrive, which are dropped, and
// how the connection ends. Each iteration also checks that a well-behaved
// client of the same socket is still served.

const (
	fuzzLimit    = 4096    // MaxRecvSize of the sockets under fuzz
	fuzzMaxInput = 1 << 16 // bytes of input used, so queues never fill
	fuzzWait     = 10 * time.Second
)

// streamEnd is how the model says a connection ends.
type streamEnd int

const (
	endClean    streamEnd = iota // EOF between two messages
	endTooLarge                  // a size above the limit
	endProtocol                  // truncated message, bad IPC type byte, bad pattern header
)

// streamModel splits data (what follows the handshake) into the message
// payloads a socket reads before the stream ends, and says how it ends.
func streamModel(data []byte, ipc bool, limit uint64) ([][]byte, streamEnd) {
	var msgs [][]byte
	hn := 8
	if ipc {
		hn = 9
	}
	for {
		if len(data) == 0 {
			return msgs, endClean
		}
		if len(data) < hn {
			return msgs, endProtocol // truncated frame header
		}
		if ipc && data[0] != 1 {
			return msgs, endProtocol
		}
		size := binary.BigEndian.Uint64(data[hn-8:])
		if size > limit {
			return msgs, endTooLarge
		}
		data = data[hn:]
		if uint64(len(data)) < size {
			return msgs, endProtocol // truncated body
		}
		msgs = append(msgs, data[:size])
		data = data[size:]
	}
}

// checkEnd checks the event that ended a fuzzed connection against the
// model.
func checkEnd(t *testing.T, e socket.Event, want streamEnd) {
	t.Helper()
	if e.Type != socket.EventDisconnected {
		t.Fatalf("connection ended with %v, want a disconnect", e)
	}
	switch want {
	case endClean:
		if e.Err != nil {
			t.Fatalf("clean end reported as %v", e.Err)
		}
	case endTooLarge:
		var tl *wire.TooLargeError
		if !errors.As(e.Err, &tl) || !errors.Is(e.Err, socket.ErrTooLarge) || !errors.Is(e.Err, socket.ErrProtocol) {
			t.Fatalf("size above the limit reported as %v (%T)", e.Err, e.Err)
		}
	case endProtocol:
		if !errors.Is(e.Err, socket.ErrProtocol) || errors.Is(e.Err, socket.ErrTooLarge) {
			t.Fatalf("protocol violation reported as %v (%T)", e.Err, e.Err)
		}
	}
}

// fuzzFeed connects to url, handshakes as proto and writes data, then
// closes, and returns the event that ended the connection.
func fuzzFeed(t *testing.T, w *streamtest.Watcher, url string, proto uint16, data []byte) socket.Event {
	t.Helper()
	from := w.Len()
	p, err := streamtest.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Handshake(proto); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	// The socket may close the connection before it has read everything:
	// a failed write is what a bad stream earns.
	go func() {
		var buf [4096]byte
		for {
			if _, err := p.Conn.Read(buf[:]); err != nil {
				return
			}
		}
	}()
	p.Write(data)
	p.Close()
	e, err := w.Wait(from, fuzzWait, streamtest.Ends(p.Remote))
	if err != nil {
		t.Fatalf("connection end: %v", err)
	}
	return e
}

type fuzzPull struct {
	s      *socket.Socket
	urls   [2]string // tcp framing, ipc framing
	w      *streamtest.Watcher
	good   *socket.Socket
	goodID atomic.Uint32
	goodCh chan []byte
	fuzzCh chan []byte
	n      int
}

func newFuzzPull(f *testing.F) *fuzzPull {
	s := must(pull.New(socket.MaxRecvSize(fuzzLimit)))
	fp := &fuzzPull{s: s, w: streamtest.Watch(s), goodCh: make(chan []byte, 16), fuzzCh: make(chan []byte, fuzzMaxInput)}
	for i, ipc := range []bool{false, true} {
		fp.urls[i] = must(s.Listen(streamtest.URL(ipc))).URL()
	}
	in := must(s.Listen(fmt.Sprintf("inproc://fuzz-pull-%p", fp)))
	fp.good = must(push.New())
	must(fp.good.Dial(in.URL()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := s.Recv()
			if err != nil {
				return
			}
			b := bytes.Clone(m.Body)
			if socket.PipeID(fp.goodID.Load()) == m.Pipe || bytes.HasPrefix(b, []byte("good-0")) && fp.goodID.CompareAndSwap(0, uint32(m.Pipe)) {
				fp.goodCh <- b
			} else {
				fp.fuzzCh <- b
			}
			m.Free()
		}
	}()
	f.Cleanup(func() {
		fp.good.Close()
		s.Close()
		<-done
	})
	fp.roundTrip(f)
	return fp
}

// roundTrip checks that the good client is still served.
func (fp *fuzzPull) roundTrip(t testing.TB) {
	t.Helper()
	want := fmt.Sprintf("good-%d", fp.n)
	fp.n++
	if err := fp.good.SendBytes([]byte(want)); err != nil {
		t.Fatalf("good client: %v", err)
	}
	select {
	case got := <-fp.goodCh:
		if string(got) != want {
			t.Fatalf("good client: got %q, want %q", got, want)
		}
	case <-time.After(fuzzWait):
		t.Fatalf("good client: %q did not arrive", want)
	}
}

// FuzzStreamPull feeds a pull0 socket arbitrary bytes after a valid
// handshake, with TCP or IPC framing.
func FuzzStreamPull(f *testing.F) {
	for _, ipc := range []bool{false, true} {
		fr := sp.FramingTCP
		if ipc {
			fr = sp.FramingIPC
		}
		frame := func(b []byte) []byte { return append(fr.AppendFrameHeader(nil, uint64(len(b))), b...) }
		f.Add([]byte{}, ipc)
		f.Add(frame([]byte("hello")), ipc)
		f.Add(append(frame([]byte("one")), frame([]byte("two"))...), ipc)
		f.Add(frame(nil), ipc)
		f.Add(frame(make([]byte, fuzzLimit)), ipc)
		f.Add(fr.AppendFrameHeader(nil, fuzzLimit+1), ipc)
		f.Add(fr.AppendFrameHeader(nil, 1<<63), ipc)
		f.Add(append(frame([]byte("ok")), fr.AppendFrameHeader(nil, 1<<30)...), ipc)
		f.Add(append(fr.AppendFrameHeader(nil, 10), "short"...), ipc)
		f.Add(fr.AppendFrameHeader(nil, 10), ipc)
		f.Add(fr.AppendFrameHeader(nil, 10)[:5], ipc)
	}
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00\x01x"), true)
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), false)
	fp := newFuzzPull(f)
	f.Fuzz(func(t *testing.T, data []byte, ipc bool) {
		data = data[:min(len(data), fuzzMaxInput)]
		msgs, end := streamModel(data, ipc, fuzzLimit)
		url := fp.urls[0]
		if ipc {
			url = fp.urls[1]
		}
		before := fp.s.Stats()
		e := fuzzFeed(t, fp.w, url, sp.ProtoPush0, data)
		checkEnd(t, e, end)
		for i, want := range msgs {
			select {
			case got := <-fp.fuzzCh:
				if !bytes.Equal(got, want) {
					t.Fatalf("message %d: got %q, want %q", i, got, want)
				}
			case <-time.After(fuzzWait):
				t.Fatalf("message %d of %d did not arrive", i, len(msgs))
			}
		}
		select {
		case got := <-fp.fuzzCh:
			t.Fatalf("unexpected message %q", got)
		default:
		}
		after := fp.s.Stats()
		if d := after.MessagesIn - before.MessagesIn; d != uint64(len(msgs)) {
			t.Fatalf("MessagesIn grew by %d, want %d", d, len(msgs))
		}
		wantErrs := uint64(0)
		if end != endClean {
			wantErrs = 1
		}
		if d := after.ProtocolErrors - before.ProtocolErrors; d != wantErrs {
			t.Fatalf("ProtocolErrors grew by %d, want %d", d, wantErrs)
		}
		fp.roundTrip(t)
	})
}

// backtraceModel says what a rep0 or respondent0 socket with hop limit ttl
// does with a request whose payload is b: it takes n bytes of backtrace, or
// drops it (too many hops), or closes the pipe (no complete backtrace).
func backtraceModel(b []byte, ttl int) (n int, drop, bad bool) {
	for {
		if n/4 >= ttl { // the hop limit comes before the length, as in nng
			return 0, true, false
		}
		if len(b) < n+4 {
			return 0, false, true
		}
		word := binary.BigEndian.Uint32(b[n:])
		n += 4
		if word&0x80000000 != 0 {
			return n, false, false
		}
	}
}

type fuzzRep struct {
	s      *socket.Socket
	urls   [2]string
	w      *streamtest.Watcher
	good   *socket.Socket
	goodID atomic.Uint32
	fuzzCh chan []byte
	n      int
}

func newFuzzRep(f *testing.F) *fuzzRep {
	s := must(rep.New(socket.MaxRecvSize(fuzzLimit)))
	fr := &fuzzRep{s: s, w: streamtest.Watch(s), fuzzCh: make(chan []byte, fuzzMaxInput)}
	for i, ipc := range []bool{false, true} {
		fr.urls[i] = must(s.Listen(streamtest.URL(ipc))).URL()
	}
	in := must(s.Listen(fmt.Sprintf("inproc://fuzz-rep-%p", fr)))
	fr.good = must(req.New(socket.SendTimeout(fuzzWait), socket.RecvTimeout(fuzzWait)))
	must(fr.good.Dial(in.URL()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := s.Recv()
			if err != nil {
				return
			}
			if socket.PipeID(fr.goodID.Load()) == m.Pipe || bytes.HasPrefix(m.Body, []byte("good-0")) && fr.goodID.CompareAndSwap(0, uint32(m.Pipe)) {
				if s.Send(m) != nil {
					return
				}
				continue
			}
			fr.fuzzCh <- bytes.Clone(m.Body)
			m.Free()
		}
	}()
	f.Cleanup(func() {
		fr.good.Close()
		s.Close()
		<-done
	})
	fr.roundTrip(f)
	return fr
}

func (fr *fuzzRep) roundTrip(t testing.TB) {
	t.Helper()
	want := fmt.Sprintf("good-%d", fr.n)
	fr.n++
	if err := fr.good.SendBytes([]byte(want)); err != nil {
		t.Fatalf("good client: %v", err)
	}
	got, err := fr.good.RecvBytes()
	if err != nil || string(got) != want {
		t.Fatalf("good client: got %q, %v; want %q", got, err, want)
	}
}

// FuzzStreamRep feeds a rep0 socket arbitrary bytes after a valid
// handshake: frames, and in them backtraces.
func FuzzStreamRep(f *testing.F) {
	for _, ipc := range []bool{false, true} {
		fr := sp.FramingTCP
		if ipc {
			fr = sp.FramingIPC
		}
		frame := func(b ...[]byte) []byte {
			p := bytes.Join(b, nil)
			return append(fr.AppendFrameHeader(nil, uint64(len(p))), p...)
		}
		id := streamtest.U32(0x80000001)
		hop := streamtest.U32(7)
		f.Add(frame(id, []byte("request")), ipc)
		f.Add(frame(hop, hop, id, []byte("via two devices")), ipc)
		f.Add(frame(bytes.Repeat(hop, 8), id), ipc)
		f.Add(frame(bytes.Repeat(hop, 7), id, []byte("at the ttl")), ipc)
		f.Add(frame(bytes.Repeat(hop, 8)), ipc) // over the ttl and cut short: dropped
		f.Add(frame(hop, []byte("xy")), ipc)
		f.Add(frame([]byte("abc")), ipc)
		f.Add(frame(), ipc)
		// After a violation nothing more is delivered from the connection.
		f.Add(append(frame(hop), frame(id, []byte("after"))...), ipc)
		f.Add(append(frame(id, []byte("a")), frame(id, []byte("b"))...), ipc)
	}
	fz := newFuzzRep(f)
	f.Fuzz(func(t *testing.T, data []byte, ipc bool) {
		data = data[:min(len(data), fuzzMaxInput)]
		frames, end := streamModel(data, ipc, fuzzLimit)
		var want [][]byte
		drops := 0
		read := 0
		for _, b := range frames {
			read++
			n, drop, bad := backtraceModel(b, rep.DefaultTTL)
			if bad {
				end = endProtocol
				break
			}
			if drop {
				drops++
				continue
			}
			want = append(want, b[n:])
		}
		url := fz.urls[0]
		if ipc {
			url = fz.urls[1]
		}
		before := fz.s.Stats()
		e := fuzzFeed(t, fz.w, url, sp.ProtoReq0, data)
		checkEnd(t, e, end)
		for i, w := range want {
			select {
			case got := <-fz.fuzzCh:
				if !bytes.Equal(got, w) {
					t.Fatalf("request %d: got %q, want %q", i, got, w)
				}
			case <-time.After(fuzzWait):
				t.Fatalf("request %d of %d did not arrive", i, len(want))
			}
		}
		select {
		case got := <-fz.fuzzCh:
			t.Fatalf("unexpected request %q", got)
		default:
		}
		after := fz.s.Stats()
		if d := after.MessagesIn - before.MessagesIn; d != uint64(read) {
			t.Fatalf("MessagesIn grew by %d, want %d", d, read)
		}
		if d := after.Dropped(socket.DropTTL) - before.Dropped(socket.DropTTL); d != uint64(drops) {
			t.Fatalf("%d drops for ttl, want %d", d, drops)
		}
		wantErrs := uint64(0)
		if end != endClean {
			wantErrs = 1
		}
		if d := after.ProtocolErrors - before.ProtocolErrors; d != wantErrs {
			t.Fatalf("ProtocolErrors grew by %d, want %d", d, wantErrs)
		}
		fz.roundTrip(t)
	})
}
