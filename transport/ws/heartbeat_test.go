package ws_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/ws"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// zwsNullHead is the opening handshake of a ZWS 2.0 client with the NULL
// mechanism.
const zwsNullHead = "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n"

// Over ws a ZMTP pipe's heartbeats are WebSocket pings, as libzmq's: a
// peer that answers them with pongs keeps an idle pipe; once it stops, the
// pipe closes with ErrTimeout.
func TestWSHeartbeats(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New(socket.HeartbeatInterval(30 * time.Millisecond)))
	defer r.Close()
	ev := r.Events(16)
	p, status := dialRaw(t, must(r.Listen("ws://127.0.0.1:0/hb")).URL(), zwsNullHead)
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("answer %q", status)
	}
	ready := zmtp.AppendReady(nil, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(zmtp.TypeDEALER)})
	_, n, _ := zmtp.ParseFrameHeader(ready, 0)
	p.zws(t, ws.ZWSCommand, string(ready[n:]))
	if flags, body := p.nextZWS(t); flags != ws.ZWSCommand || body[1:6] != "READY" {
		t.Fatalf("first message %#x %q, want READY", flags, body)
	}
	answer := func(until time.Time) (pings int) {
		p.SetDeadline(until)
		for {
			h, b, err := p.readFrame()
			if err != nil {
				return pings
			}
			if h.Op != ws.OpPing {
				t.Fatalf("frame %+v %q, want only pings", h, b)
			}
			pings++
			p.send(t, p.frame(ws.OpPong, true, true, b))
		}
	}
	if pings := answer(time.Now().Add(300 * time.Millisecond)); pings < 3 {
		t.Fatalf("%d pings in 300 ms, at an interval of 30 ms", pings)
	}
	select {
	case e := <-ev:
		if e.Type == socket.EventDisconnected {
			t.Fatalf("dropped while it answered pings: %v", e.Err)
		}
	default:
	}
	p.SetDeadline(time.Now().Add(timeout)) // now it reads on but answers nothing
	go func() {
		for {
			if _, _, err := p.readFrame(); err != nil {
				return
			}
		}
	}()
	if e := socktest.WaitEvent(t, ev, socket.EventDisconnected); !errors.Is(e.Err, socket.ErrTimeout) {
		t.Fatalf("disconnected with %v, want ErrTimeout", e.Err)
	}
}

// Two mqwire sockets with heartbeats on (timeout left at the interval)
// keep an idle ws pipe: each answers the other's pings.
func TestWSHeartbeatsKeepIdlePipe(t *testing.T) {
	testutil.CheckGoroutines(t)
	hb := socket.HeartbeatInterval(50 * time.Millisecond)
	r := must(router.New(hb))
	defer r.Close()
	d := must(dealer.New(hb, socket.Identity([]byte("d"))))
	defer d.Close()
	must(d.Dial(must(r.Listen("ws://127.0.0.1:0/idle")).URL()))
	socktest.WaitPipes(t, d, 1)
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := d.SendContext(ctx, socket.NewMessageBytes([]byte("still here"))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RecvContext(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Stats().Connects != 1 || d.Stats().Connects != 1 {
		t.Fatalf("connects %d and %d, want 1 each", r.Stats().Connects, d.Stats().Connects)
	}
}

// A peer that stops reading altogether while we send: our writer waits on
// it with the write turn held, so no ping can go, and none is answered;
// the pipe closes with ErrTimeout all the same.
func TestWSHeartbeatsPeerStopsReading(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(push.New(socket.HeartbeatInterval(30*time.Millisecond), socket.SendHWM(4)))
	defer s.Close()
	ev := s.Events(16)
	p, _ := dialRaw(t, must(s.Listen("ws://127.0.0.1:0/stuck")).URL(), zwsNullHead)
	ready := zmtp.AppendReady(nil, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(zmtp.TypePULL)})
	_, n, _ := zmtp.ParseFrameHeader(ready, 0)
	p.zws(t, ws.ZWSCommand, string(ready[n:]))
	p.nextZWS(t) // our READY; then the peer reads nothing more
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		big := make([]byte, 256<<10)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			s.SendContext(ctx, socket.NewMessageBytes(big))
			cancel()
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	defer func() { close(stop); <-sent }()
	if e := socktest.WaitEvent(t, ev, socket.EventDisconnected); !errors.Is(e.Err, socket.ErrTimeout) {
		t.Fatalf("disconnected with %v, want ErrTimeout", e.Err)
	}
}
