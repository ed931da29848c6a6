package surveyor_test

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
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// A hand-written respondent0 peer reads each survey and answers with an
// arbitrary payload. surveyor0's rules: an answer shorter than the 4-byte
// survey id closes the pipe; an answer whose id is not the running survey's
// is dropped as late; the matching one is received. A raw surveyor0
// receives any answer with its id in the header.

const wait = 10 * time.Second

type harness struct {
	s   *socket.Socket
	w   *streamtest.Watcher
	url string
	raw bool
	n   uint32
}

func newHarness(t testing.TB, raw bool, url string) *harness {
	var s *socket.Socket
	var err error
	if raw {
		s, err = surveyor.NewRaw(socket.RecvTimeout(wait))
	} else {
		s, err = surveyor.New(socket.RecvTimeout(wait), surveyor.SurveyTime(wait))
	}
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

// check sends one survey and has the peer send answer, prefixed by
// the survey's id when withID is true.
func (h *harness) check(t *testing.T, answer []byte, withID bool) {
	before := h.s.Stats()
	from := h.w.Len()
	p, err := streamtest.DialPeer(h.url, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Handshake(sp.ProtoRespondent); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if _, err := h.w.Wait(from, wait, streamtest.Is(socket.EventAccepted, p.Remote)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var c *surveyor.Context
	if !h.raw {
		// One context per survey, closed at the end.
		if c, err = surveyor.NewContext(h.s); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	h.n++
	body := fmt.Sprintf("survey %d", h.n)
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
		t.Fatalf("peer reading the survey: %v", err)
	}
	if len(got) != 4+len(body) || string(got[4:]) != body || got[0]&0x80 == 0 {
		t.Fatalf("survey on the wire % x", got)
	}
	id := got[:4]
	if h.raw && binary.BigEndian.Uint32(id) != 0x80000000|h.n {
		t.Fatalf("raw survey id % x", id)
	}
	payload := answer
	if withID {
		payload = append(bytes.Clone(id), answer...)
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
			t.Fatalf("answer % x: %v, want a disconnect for a protocol error", payload, e)
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
		want = append(bytes.Clone(id), "the real answer"...)
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
		t.Fatalf("answer % x: body %q, want %q", payload, r.Body, want[4:])
	}
	if h.raw && !bytes.Equal(r.Header, want[:4]) || !h.raw && len(r.Header) != 0 {
		t.Fatalf("answer % x: header % x", payload, r.Header)
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
	answer []byte
	withID bool
}

func seeds() []seed {
	return []seed{
		{[]byte("here"), true},
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

// FuzzAnswerID drives surveyor0, cooked and raw, with arbitrary answers.
func FuzzAnswerID(f *testing.F) {
	for _, sd := range seeds() {
		f.Add(sd.answer, sd.withID, false)
		f.Add(sd.answer, sd.withID, true)
	}
	var hs [2]*harness
	for i := range hs {
		hs[i] = newHarness(f, i == 1, streamtest.URL(i == 1))
		f.Cleanup(func() { hs[i].s.Close() })
	}
	f.Fuzz(func(t *testing.T, answer []byte, withID, raw bool) {
		if len(answer) > 1<<16 {
			answer = answer[:1<<16]
		}
		h := hs[0]
		if raw {
			h = hs[1]
		}
		h.check(t, answer, withID)
	})
}

func TestAnswerIDOverTCPAndIPC(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		for _, raw := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/raw=%v", tr, raw), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, raw, testutil.URL(t, tr))
				defer h.s.Close()
				for i, sd := range seeds() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { h.check(t, sd.answer, sd.withID) })
				}
			})
		}
	}
}
