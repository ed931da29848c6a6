package req_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// A hand-written rep0 peer reads each request and answers with an arbitrary
// payload. req0's rules: a reply shorter than the 4-byte id closes the
// pipe; a reply whose id is not the outstanding request's is dropped as
// late; the matching one is received. A raw req0 receives any reply with
// its id in the header.

const wait = 10 * time.Second

type harness struct {
	s   *socket.Socket
	w   *streamtest.Watcher
	url string
	raw bool
	n   uint32
}

func newHarness(t testing.TB, raw bool, url string) *harness {
	mk := req.New
	if raw {
		mk = req.NewRaw
	}
	s, err := mk(socket.RecvTimeout(wait), socket.SendTimeout(wait))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{s: s, w: streamtest.Watch(s), raw: raw}
	l, err := s.Listen(url)
	if err != nil {
		t.Fatal(err)
	}
	h.url = l.URL()
	return h
}

// check sends one request and has the peer answer with reply, prefixed by
// the request's id when withID is true.
func (h *harness) check(t *testing.T, reply []byte, withID bool) {
	before := h.s.Stats()
	from := h.w.Len()
	p, err := streamtest.DialPeer(h.url, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Handshake(sp.ProtoRep0); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if _, err := h.w.Wait(from, wait, streamtest.Is(socket.EventAccepted, p.Remote)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var c *req.Context
	if !h.raw {
		// One context per request, closed at the end, so that no request
		// is left to be resent to the next peer.
		if c, err = req.NewContext(h.s); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	h.n++
	body := fmt.Sprintf("request %d", h.n)
	m := socket.NewMessageBytes([]byte(body))
	if h.raw {
		m.SetHeader(streamtest.U32(0x80000000 | h.n))
		err = h.s.Send(m)
	} else {
		err = c.Send(ctx, m)
	}
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	got, err := p.ReadMsg(1 << 20)
	if err != nil {
		t.Fatalf("peer reading the request: %v", err)
	}
	if len(got) != 4+len(body) || string(got[4:]) != body || got[0]&0x80 == 0 {
		t.Fatalf("request on the wire % x", got)
	}
	id := got[:4]
	if h.raw && binary.BigEndian.Uint32(id) != 0x80000000|h.n {
		t.Fatalf("raw request id % x", id)
	}
	payload := reply
	if withID {
		payload = append(bytes.Clone(id), reply...)
	}
	if err := p.WriteMsg(payload); err != nil {
		t.Fatal(err)
	}
	if len(payload) < 4 {
		e, err := h.w.Wait(from, wait, streamtest.Ends(p.Remote))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != socket.EventDisconnected || !errors.Is(e.Err, socket.ErrProtocol) {
			t.Fatalf("reply % x: %v, want a disconnect for a protocol error", payload, e)
		}
		if err := p.WaitClosed(wait); err != nil {
			t.Fatal(err)
		}
		if d := h.s.Stats().ProtocolErrors - before.ProtocolErrors; d != 1 {
			t.Fatalf("ProtocolErrors +%d", d)
		}
		return
	}
	late := !h.raw && !bytes.Equal(payload[:4], id)
	want := payload
	if late {
		want = append(bytes.Clone(id), "the real reply"...)
		if err := p.WriteMsg(want); err != nil {
			t.Fatal(err)
		}
	}
	var r *socket.Message
	if h.raw {
		r, err = h.s.Recv()
	} else {
		r, err = c.Recv(ctx)
	}
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if !bytes.Equal(r.Body, want[4:]) {
		t.Fatalf("reply % x: body %q, want %q", payload, r.Body, want[4:])
	}
	if h.raw && !bytes.Equal(r.Header, want[:4]) || !h.raw && len(r.Header) != 0 {
		t.Fatalf("reply % x: header % x", payload, r.Header)
	}
	r.Free()
	p.Close()
	e, err := h.w.Wait(from, wait, streamtest.Ends(p.Remote))
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != socket.EventDisconnected || e.Err != nil {
		t.Fatalf("end of a good connection: %v", e)
	}
	after := h.s.Stats()
	wantLate := uint64(0)
	if late {
		wantLate = 1
	}
	if d := after.Dropped(socket.DropLate) - before.Dropped(socket.DropLate); d != wantLate {
		t.Fatalf("DropLate +%d, want +%d", d, wantLate)
	}
	if after.ProtocolErrors != before.ProtocolErrors {
		t.Fatal("a protocol error counted")
	}
}

type seed struct {
	reply  []byte
	withID bool
}

func seeds() []seed {
	return []seed{
		{[]byte("pong"), true},
		{nil, true},
		{nil, false},
		{[]byte{0x80}, false},
		{[]byte{0x80, 0, 0}, false},
		{[]byte("\x80\x00\x00\x01wrong id"), false},
		{[]byte("\x00\x00\x00\x01no high bit"), false},
		{[]byte("\xff\xff\xff\xff"), false},
		{[]byte("\x00\x00\x00\x05\x80\x00\x00\x01a backtrace word too many"), true},
	}
}

// FuzzReplyID drives req0, cooked and raw, with arbitrary replies.
func FuzzReplyID(f *testing.F) {
	for _, sd := range seeds() {
		f.Add(sd.reply, sd.withID, false)
		f.Add(sd.reply, sd.withID, true)
	}
	var hs [2]*harness
	for i := range hs {
		hs[i] = newHarness(f, i == 1, streamtest.URL(i == 1))
		f.Cleanup(func() { hs[i].s.Close() })
	}
	f.Fuzz(func(t *testing.T, reply []byte, withID, raw bool) {
		if len(reply) > 1<<16 {
			reply = reply[:1<<16]
		}
		h := hs[0]
		if raw {
			h = hs[1]
		}
		h.check(t, reply, withID)
	})
}

func TestReplyIDOverTCPAndIPC(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		for _, raw := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/raw=%v", tr, raw), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, raw, testutil.URL(t, tr))
				defer h.s.Close()
				for i, sd := range seeds() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { h.check(t, sd.reply, sd.withID) })
				}
			})
		}
	}
}
