package streamtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// Requester describes a pattern that sends requests (or surveys) carrying an
// id and matches what comes back by it: req0 and surveyor0. Their fuzz
// targets and tests share RequesterHarness.
type Requester struct {
	New, NewRaw func(...socket.Option) (*socket.Socket, error)
	Options     []socket.Option // extra options for the cooked socket
	PeerProto   uint16          // the SP protocol the hand-written peer announces
	NewContext  func(*socket.Socket) (Conversation, error)
	Noun        string // what a request is called in messages: "request", "survey"
}

// Conversation is a pattern context: req.Context, surveyor.Context.
type Conversation interface {
	Send(context.Context, *socket.Message) error
	Recv(context.Context) (*socket.Message, error)
	Close() error
}

const requesterWait = 10 * time.Second

// RequesterSeed is one reply a peer may send.
type RequesterSeed struct {
	Reply  []byte
	WithID bool // put the request's id in front of Reply
}

// RequesterSeeds are the replies every requester is checked with.
func RequesterSeeds() []RequesterSeed {
	return []RequesterSeed{
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

// RequesterHarness drives one socket of a Requester pattern against
// hand-written peers, one connection per check.
type RequesterHarness struct {
	r   Requester
	s   *socket.Socket
	w   *Watcher
	url string
	raw bool
	n   uint32
}

// NewHarness makes a listening socket of the pattern (raw or cooked) at url.
func (r Requester) NewHarness(t testing.TB, raw bool, url string) *RequesterHarness {
	mk, opts := r.New, r.Options
	if raw {
		mk, opts = r.NewRaw, nil
	}
	s, err := mk(append([]socket.Option{socket.RecvTimeout(requesterWait), socket.SendTimeout(requesterWait)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h := &RequesterHarness{r: r, s: s, w: Watch(s), raw: raw}
	l, err := s.Listen(url)
	if err != nil {
		t.Fatal(err)
	}
	h.url = l.URL()
	return h
}

// Socket returns the socket under test.
func (h *RequesterHarness) Socket() *socket.Socket { return h.s }

// Check sends one request and has the peer answer with reply, prefixed by
// the request's id when withID is true, then checks what the socket made of
// it: a reply shorter than the id closes the pipe as a protocol error; a
// cooked socket drops a reply with another id as late; the matching reply
// (any reply, raw) is received.
func (h *RequesterHarness) Check(t *testing.T, reply []byte, withID bool) {
	before := h.s.Stats()
	from := h.w.Len()
	p, err := DialPeer(h.url, requesterWait)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Handshake(h.r.PeerProto); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if _, err := h.w.Wait(from, requesterWait, Is(socket.EventAccepted, p.Remote)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var c Conversation
	if !h.raw {
		// One context per request, closed at the end, so that no request
		// is left to be resent to the next peer.
		if c, err = h.r.NewContext(h.s); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	h.n++
	body := fmt.Sprintf("%s %d", h.r.Noun, h.n)
	m := socket.NewMessageBytes([]byte(body))
	if h.raw {
		m.SetHeader(U32(0x80000000 | h.n))
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
		e, err := h.w.Wait(from, requesterWait, Ends(p.Remote))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != socket.EventDisconnected || !errors.Is(e.Err, socket.ErrProtocol) {
			t.Fatalf("reply % x: %v, want a disconnect for a protocol error", payload, e)
		}
		if err := p.WaitClosed(requesterWait); err != nil {
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
	e, err := h.w.Wait(from, requesterWait, Ends(p.Remote))
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
