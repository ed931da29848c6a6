package interop_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// testMQDevice runs two C REQ peers through an mqwire device (a raw rep0
// socket and a raw req0 socket joined by device.Forward) to a C REP peer:
// each reply must find its way back to the REQ that asked, which only works
// if the raw sockets keep the backtrace (pipe ids, request id) intact.
func testMQDevice(t *testing.T, c *cPeer, tr string) {
	front := newSocket(t, "rep0", true)
	back := newSocket(t, "req0", true)
	fl, err := front.Listen(listenURL(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	bl, err := back.Listen(listenURL(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	c1, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- device.Forward(c1, front, back) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("device.Forward: %v", err)
		}
	})
	var reqs [2]*peer
	for i := range reqs {
		if reqs[i], err = startPeer(t, c, "req0", "dial", fl.URL()); err != nil {
			t.Fatal(err)
		}
	}
	server, err := startPeer(t, c, "rep0", "dial", bl.URL())
	if err != nil {
		t.Fatal(err)
	}
	socktest.WaitPipes(t, front, 2)
	socktest.WaitPipes(t, back, 1)
	for i := range rounds {
		reqs[0].send(body("a", i))
		reqs[1].send(body("b", i))
		for range reqs {
			q, ok := server.recv(timeout)
			if !ok {
				t.Fatal("the REP peer received no request")
			}
			server.send(append([]byte("re:"), q...))
		}
		reqs[0].expect(append([]byte("re:"), body("a", i)...))
		reqs[1].expect(append([]byte("re:"), body("b", i)...))
	}
}

// testPeerDevice runs an mqwire REQ, with several contexts at once, through
// a C device (raw rep0 and raw req0 sockets joined by nng_device or
// nn_device) to an mqwire REP: mqwire's REP must hand back the C device's
// backtrace unchanged, and its REQ must match replies to contexts.
func testPeerDevice(t *testing.T, c *cPeer, tr string) {
	var dev *peer
	var frontURL, backURL string
	var err error
	for range 5 {
		frontURL, backURL = freeURL(t, tr), freeURL(t, tr)
		if dev, err = startPeer(t, c, "device", "rep0", listenAddr(c.lib, frontURL), "req0", listenAddr(c.lib, backURL)); err == nil {
			break
		}
	}
	if dev == nil {
		t.Fatal(err)
	}
	client := newSocket(t, "req0", false)
	server := newSocket(t, "rep0", false)
	if _, err := client.Dial(frontURL); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Dial(backURL); err != nil {
		t.Fatal(err)
	}
	c1, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			m, err := server.RecvContext(c1)
			if err != nil {
				return
			}
			r := socket.NewMessageBytes(append([]byte("re:"), m.Body...))
			m.Free()
			if err := server.SendContext(c1, r); err != nil {
				r.Free()
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	const contexts = 4
	errs := make(chan error, contexts)
	for k := range contexts {
		go func() {
			errs <- func() error {
				rc, err := req.NewContext(client)
				if err != nil {
					return err
				}
				defer rc.Close()
				for i := range rounds {
					q := body(fmt.Sprintf("ctx%d", k), i)
					if err := roundTrip(rc, q, append([]byte("re:"), q...)); err != nil {
						return fmt.Errorf("context %d: %w", k, err)
					}
				}
				return nil
			}()
		}()
	}
	for range contexts {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// roundTrip sends q on rc and checks the reply is want.
func roundTrip(rc *req.Context, q, want []byte) error {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m := socket.NewMessageBytes(q)
	if err := rc.Send(c, m); err != nil {
		m.Free()
		return fmt.Errorf("send: %w", err)
	}
	r, err := rc.Recv(c)
	if err != nil {
		return fmt.Errorf("recv: %w", err)
	}
	defer r.Free()
	if !bytes.Equal(r.Body, want) {
		return fmt.Errorf("received %q, want %q", r.Body, want)
	}
	return nil
}

// testMismatch connects a C REQ peer to an mqwire PULL: mqwire must refuse
// it during the handshake, with an EventHandshakeFailed whose error is
// socket.ErrPeerMismatch, and never make a pipe of it.
func testMismatch(t *testing.T, c *cPeer, tr, dir string) {
	s := newSocket(t, "pull0", false)
	events := s.Events(256)
	var p *peer
	switch dir {
	case mqListens:
		ln, err := s.Listen(listenURL(t, tr))
		if err != nil {
			t.Fatal(err)
		}
		if p, err = startPeer(t, c, "req0", "dial", ln.URL()); err != nil {
			t.Fatal(err)
		}
	case peerListens:
		var url string
		p, url = peerListen(t, c, tr, "req0", "listen")
		if _, err := s.Dial(url); err != nil {
			t.Fatal(err)
		}
	}
	expectMismatch(t, s, events)
	// The peer has no REP either: its request waits for one (nng's send
	// times out, nanomsg's queues it) and is never answered.
	if a := p.do("sendtimeout 50"); a != "ok" {
		t.Fatalf("%s: sendtimeout: %s", p.name, a)
	}
	switch a := p.do("send " + hex.EncodeToString([]byte("anyone?"))); a {
	case "ok":
		if got, ok := p.recv(50 * time.Millisecond); ok {
			t.Fatalf("the REQ peer received %q", got)
		}
	case "err Timed out":
	default:
		t.Fatalf("%s: send: %s", p.name, a)
	}
	if n := s.Stats().Pipes; n != 0 {
		t.Fatalf("mqwire has %d pipes, want 0", n)
	}
}

// nanomsgWSClose says why a nanomsg ws dialer may not come back after
// mqwire has dropped its connection.
const nanomsgWSClose = "nanomsg 1.1.5's ws dialer never dials again once the listener has sent a " +
	"WebSocket close frame (cws.c: peer_gone, \"don't try to reconnect\"), and mqwire sends one " +
	"(1000) as it drops a connection: nanomsg comes back only when the tcp reset beats the close frame"

// expectMismatch waits for s to refuse a peer with ErrPeerMismatch.
func expectMismatch(t *testing.T, s *socket.Socket, events <-chan socket.Event) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-events:
			switch e.Type {
			case socket.EventConnected, socket.EventAccepted:
				t.Fatalf("mqwire %s accepted a peer of the wrong protocol: %v", s.Info().Name, e)
			case socket.EventHandshakeFailed:
				if errors.Is(e.Err, socket.ErrPeerMismatch) {
					if s.Stats().HandshakeFailures == 0 {
						t.Error("the handshake failure is not counted")
					}
					return
				}
				t.Logf("handshake failed, not for the reason expected: %v", e)
			}
		case <-deadline:
			t.Fatalf("mqwire %s reported no peer mismatch", s.Info().Name)
		}
	}
}

// testRecvLimit: a message at mqwire's MaxRecvSize arrives; one byte more
// costs the peer its connection, with ErrTooLarge; the peer's dialer comes
// back and is served again.
func testRecvLimit(t *testing.T, c *cPeer, tr, mq, proto string) {
	const limit = 64 << 10
	s := newSocket(t, mq, false)
	if err := s.SetOption(socket.MaxRecvSize(limit)); err != nil {
		t.Fatal(err)
	}
	events := s.Events(256)
	p := connectPeer(t, c, tr, mqListens, s, proto)
	p.send(sized(limit, 1))
	if got, err := mqRecv(s, timeout); err != nil || !bytes.Equal(got, sized(limit, 1)) {
		t.Fatalf("mqwire received %d bytes (%v), want %d", len(got), err, limit)
	}
	p.send(sized(limit+1, 2))
	// Wait for the peer to come back (a second EventAccepted, which may
	// come before the first pipe's EventDisconnected): a message sent before
	// the peer has seen its connection go would go down the dead pipe.
	// nanomsg's ws dialer may never come back (see nanomsgWSClose): only
	// the disconnect is checked.
	comesBack := c != nnPeer || tr != "ws"
	deadline := time.After(timeout)
	disconnected, accepted := false, 0
	for !disconnected || comesBack && accepted < 2 {
		select {
		case e := <-events:
			switch e.Type {
			case socket.EventDisconnected:
				if !errors.Is(e.Err, socket.ErrTooLarge) {
					t.Fatalf("disconnected: %v, want ErrTooLarge", e.Err)
				}
				disconnected = true
			case socket.EventAccepted:
				accepted++
			}
		case <-deadline:
			t.Fatalf("no disconnect and reconnect (disconnected %v, accepted %d)", disconnected, accepted)
		}
	}
	if !comesBack {
		t.Skip("the disconnect is checked, not the reconnect: " + nanomsgWSClose)
	}
	p.send(body("after", 0))
	mqExpect(t, s, body("after", 0))
}
