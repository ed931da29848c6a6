package socket_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// silentPeer listens on loopback tcp and accepts connections that never
// say anything (a handshake with it waits until its timeout); what it
// accepts goes to the channel, for the test to hold or close.
func silentPeer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	return "tcp://" + ln.Addr().String(), accepted
}

// TestDialContext checks that DialContext returns with the connection up
// when the peer is there and with the attempt's error when nobody
// listens, as a synchronous Dial does; that a context ending during the
// attempt (a peer that never answers the handshake, whose timeout is a
// minute) ends it promptly with the context's error and leaves no dialer
// that would try again; that an ended context dials nothing; and that the
// socket's Close ends the wait with ErrClosed.
func TestDialContext(t *testing.T) {
	testutil.CheckGoroutines(t)
	opts := []socket.Option{socket.HandshakeTimeout(time.Minute), socket.ReconnectInterval(20 * time.Millisecond)}
	p := must(push.New(opts...))
	defer p.Close()
	ctx := context.Background()

	if _, err := p.DialContext(ctx, testutil.URL(t, "tcp")); !neterr.ConnRefused(err) {
		t.Fatalf("nobody listening: %v, want ECONNREFUSED", err)
	}

	q := must(pull.New())
	defer q.Close()
	d := must(p.DialContext(ctx, must(q.Listen(testutil.URL(t, "ipc"))).URL()))
	if n := p.Stats().Pipes; n != 1 {
		t.Fatalf("%d pipes when DialContext returned, want 1", n)
	}
	d.Close()

	url, accepted := silentPeer(t)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := p.DialContext(short, url); !errors.Is(err, socket.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("handshake outlasting the context: %v, want ErrTimeout and context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("DialContext returned %v after the context's end", took-200*time.Millisecond)
	}
	select {
	case c := <-accepted:
		c.Close()
	default:
		t.Fatal("the silent peer saw no connection")
	}
	// Ten reconnect intervals: a dialer left behind would have come back.
	select {
	case c := <-accepted:
		c.Close()
		t.Error("the abandoned dialer connected again")
	case <-time.After(200 * time.Millisecond):
	}
	if n := p.Stats().Pipes; n != 0 {
		t.Errorf("%d pipes after the abandoned dial, want 0", n)
	}

	ended, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if _, err := p.DialContext(ended, url); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v, want context.Canceled", err)
	}
	select {
	case c := <-accepted:
		c.Close()
		t.Error("an ended context dialed")
	case <-time.After(100 * time.Millisecond):
	}

	other := must(push.New(opts...))
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		c := <-accepted // held open: the handshake waits
		other.Close()
		c.Close()
	}()
	if _, err := other.DialContext(ctx, url); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("socket closed during the wait: %v, want ErrClosed", err)
	}
	<-closed
}
