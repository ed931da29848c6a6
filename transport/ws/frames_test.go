package ws_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
	mqws "github.com/mqwire/mqwire/transport/ws"
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/ws"
)

// A listener with FrameLimits.Send sends a long message in frames of at
// most that many bytes.
func TestFrameLimitsSend(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(push.New())
	defer s.Close()
	l := must(s.Listen("ws://127.0.0.1:0/out", mqws.ListenFrameLimits(mqws.FrameLimits{Send: 1000})))
	p, status := dialRaw(t, l.URL(), strings.Replace(goodHead, "pull.sp", "push.sp", 1))
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("answered %q", status)
	}
	defer p.Close()
	body := bytes.Repeat([]byte("0123456789"), 1_050)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	frames := 0
	for {
		h, payload, err := p.readFrame()
		if err != nil || h.Len > 1000 || (frames == 0) != (h.Op == ws.OpBinary) || (frames > 0 && h.Op != ws.OpContinuation) {
			t.Fatalf("frame %d: %+v %v", frames, h, err)
		}
		frames++
		got = append(got, payload...)
		if h.Fin {
			break
		}
	}
	if !bytes.Equal(got, body) || frames != 11 {
		t.Fatalf("%d bytes in %d frames, want the %d sent in 11", len(got), frames, len(body))
	}
}

// A listener with FrameLimits.Recv takes fragments up to the limit and
// drops a peer whose frame is longer, telling it why (1009), with a
// FrameTooLargeError; other peers go on.
func TestFrameLimitsRecv(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	ev := s.Events(64)
	l := must(s.Listen("ws://127.0.0.1:0/in", mqws.ListenFrameLimits(mqws.FrameLimits{Recv: 1000})))
	p, status := dialRaw(t, l.URL(), goodHead)
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("answered %q", status)
	}
	defer p.Close()
	socktest.WaitEvent(t, ev, socket.EventAccepted)
	// 3000 bytes in frames of 1000: taken.
	msg := p.frame(ws.OpBinary, false, true, bytes.Repeat([]byte("a"), 1000))
	msg = append(msg, p.frame(ws.OpContinuation, false, true, bytes.Repeat([]byte("b"), 1000))...)
	msg = append(msg, p.frame(ws.OpContinuation, true, true, bytes.Repeat([]byte("c"), 1000))...)
	p.send(t, msg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if m, err := s.RecvContext(ctx); err != nil || m.Len() != 3000 {
		t.Fatalf("fragmented message: %v %v", m, err)
	}
	// One frame of 1001: the connection goes.
	p.send(t, p.frame(ws.OpBinary, true, true, make([]byte, 1001)))
	e := socktest.WaitEvent(t, ev, socket.EventDisconnected)
	var tooLarge *mqws.FrameTooLargeError
	if !errors.As(e.Err, &tooLarge) || tooLarge.Size != 1001 || tooLarge.Limit != 1000 || !errors.Is(e.Err, wire.ErrTooLarge) {
		t.Fatalf("pipe closed with %v, want a FrameTooLargeError of 1001 and 1000", e.Err)
	}
	h, payload, err := p.readFrame()
	if err != nil || h.Op != ws.OpClose || len(payload) != 2 || binary.BigEndian.Uint16(payload) != 1009 {
		t.Errorf("close frame %+v % x %v, want code 1009", h, payload, err)
	}
	stillServes(t, s, l.URL())
}

// Two mqwire sockets with frame limits on both sides exchange long
// messages in SP and in ZMTP; a dialer whose frames are longer than the
// listener takes loses its connection.
func TestFrameLimitsBetweenSockets(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	listenF := mqws.ListenFrameLimits(mqws.FrameLimits{Send: 900, Recv: 700})
	dialF := mqws.DialFrameLimits(mqws.FrameLimits{Send: 700, Recv: 900})
	body := bytes.Repeat([]byte("xyz"), 20_000)

	rp, rq := must(rep.New()), must(req.New())
	defer rp.Close()
	defer rq.Close()
	must(rq.Dial(must(rp.Listen("ws://127.0.0.1:0/sp", listenF)).URL(), dialF))
	if err := rq.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
		t.Fatal(err)
	}
	m, err := rp.RecvContext(ctx)
	if err != nil || !bytes.Equal(m.Body, body) {
		t.Fatalf("request: %v", err)
	}
	if err := rp.SendContext(ctx, m); err != nil {
		t.Fatal(err)
	}
	if m, err := rq.RecvContext(ctx); err != nil || !bytes.Equal(m.Body, body) {
		t.Fatalf("reply: %v", err)
	}

	r, d := must(router.New()), must(dealer.New(socket.Identity([]byte("d"))))
	defer r.Close()
	defer d.Close()
	must(d.Dial(must(r.Listen("ws://127.0.0.1:0/zmtp", listenF)).URL(), dialF))
	out := socket.NewMessageBytes(body)
	out.Frames = [][]byte{[]byte("second"), body[:5000]}
	if err := d.SendContext(ctx, out); err != nil {
		t.Fatal(err)
	}
	in, err := r.RecvContext(ctx)
	if err != nil || string(in.Body) != "d" || len(in.Frames) != 3 || !bytes.Equal(in.Frames[0], body) || len(in.Frames[2]) != 5000 {
		t.Fatalf("router got %v %v", in, err)
	}

	// The dialer's default frames (64 KiB) are too long for this listener.
	pl := must(pull.New())
	defer pl.Close()
	ev := pl.Events(64)
	ps := must(push.New())
	defer ps.Close()
	must(ps.Dial(must(pl.Listen("ws://127.0.0.1:0/small", mqws.ListenFrameLimits(mqws.FrameLimits{Recv: 1000}))).URL()))
	if err := ps.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
		t.Fatal(err)
	}
	if e := socktest.WaitEvent(t, ev, socket.EventDisconnected); !errors.Is(e.Err, wire.ErrTooLarge) {
		t.Fatalf("pipe closed with %v, want a FrameTooLargeError", e.Err)
	}
}

// Sizes below zero or above 1 GiB are refused, and the options belong to
// ws:// and wss:// alone; a Handler takes them through SetFrameLimits.
func TestFrameLimitsChecked(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	for _, f := range []mqws.FrameLimits{{Send: -1}, {Recv: -1}, {Send: 1<<30 + 1}} {
		if _, err := s.Dial("ws://127.0.0.1:1/x", mqws.DialFrameLimits(f)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("Dial with %+v: %v, want ErrBadOption", f, err)
		}
		if _, err := s.Listen("ws://127.0.0.1:0/x", mqws.ListenFrameLimits(f)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("Listen with %+v: %v, want ErrBadOption", f, err)
		}
	}
	if _, err := s.Dial("tcp://127.0.0.1:1", mqws.DialFrameLimits(mqws.FrameLimits{Send: 100})); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("Dial on tcp: %v, want ErrOptionNotApplicable", err)
	}
	if _, err := s.Listen("tcp://127.0.0.1:0", mqws.ListenFrameLimits(mqws.FrameLimits{Send: 100})); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("Listen on tcp: %v, want ErrOptionNotApplicable", err)
	}

	ev := s.Events(64)
	h := must(mqws.NewHandler(s, "ws://example.com:80/mq"))
	if err := h.SetFrameLimits(mqws.FrameLimits{Recv: -5}); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("SetFrameLimits(-5): %v, want ErrBadOption", err)
	}
	if err := h.SetFrameLimits(mqws.FrameLimits{Recv: 1000}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Listener().Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/mq"
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, fits := range []bool{true, false} {
		p := must(push.New())
		defer p.Close()
		var opts []socket.DialOption
		if fits {
			opts = append(opts, mqws.DialFrameLimits(mqws.FrameLimits{Send: 1000}))
		}
		must(p.Dial(url, opts...))
		if err := p.SendContext(ctx, socket.NewMessageBytes(make([]byte, 5000))); err != nil {
			t.Fatal(err)
		}
		if fits {
			if m, err := s.RecvContext(ctx); err != nil || m.Len() != 5000 {
				t.Fatalf("through the handler: %v %v", m, err)
			}
			p.Close()
			socktest.WaitEvent(t, ev, socket.EventDisconnected) // (clean)
			continue
		}
		if e := socktest.WaitEvent(t, ev, socket.EventDisconnected); !errors.Is(e.Err, wire.ErrTooLarge) {
			t.Fatalf("through the handler, frames too long: %v", e.Err)
		}
	}
}

// Frames of one byte, the smallest: ZMTP's flags byte goes in a frame of
// its own, and messages still cross whole.
func TestFrameLimitsOneByte(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	one := mqws.FrameLimits{Send: 1, Recv: 1}
	r, d := must(router.New()), must(dealer.New(socket.Identity([]byte("id"))))
	defer r.Close()
	defer d.Close()
	must(d.Dial(must(r.Listen("ws://127.0.0.1:0/one", mqws.ListenFrameLimits(one))).URL(), mqws.DialFrameLimits(one)))
	out := socket.NewMessageBytes([]byte("hello"))
	out.Frames = [][]byte{{}, []byte("x")}
	if err := d.SendContext(ctx, out); err != nil {
		t.Fatal(err)
	}
	in, err := r.RecvContext(ctx)
	if err != nil || string(in.Body) != "id" || len(in.Frames) != 3 || string(in.Frames[0]) != "hello" || len(in.Frames[1]) != 0 || string(in.Frames[2]) != "x" {
		t.Fatalf("router got %v %v", in, err)
	}
	if err := r.SendContext(ctx, in); err != nil {
		t.Fatal(err)
	}
	if back, err := d.RecvContext(ctx); err != nil || string(back.Body) != "hello" {
		t.Fatalf("dealer got %v %v", back, err)
	}
}
