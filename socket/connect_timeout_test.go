package socket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// blackhole is a transport whose connections never complete: Dial waits
// until its context ends, as a tcp connect to a host that never answers.
type blackhole struct{ dials chan struct{} }

func (blackhole) Schemes() []string { return []string{"test-blackhole"} }

func (b blackhole) Dial(ctx context.Context, _, _ string) (socket.Conn, error) {
	select {
	case b.dials <- struct{}{}:
	default: // nobody counts the dials now
	}
	<-ctx.Done()
	return socket.Conn{}, ctx.Err()
}

func (blackhole) Listen(_, _ string) (socket.TransportListener, error) {
	return nil, errors.ErrUnsupported
}

var blackholeDials = make(chan struct{}, 100)

func init() { socket.RegisterTransport(blackhole{blackholeDials}) }

// ConnectTimeout ends an attempt that takes too long with ErrTimeout, and
// the dialer tries again; without it the attempt waits.
func TestConnectTimeout(t *testing.T) {
	testutil.CheckGoroutines(t)
	s, _ := push.New(socket.ConnectTimeout(50*time.Millisecond), socket.ReconnectInterval(10*time.Millisecond))
	defer s.Close()
	ev := s.Events(16)
	if _, err := s.Dial("test-blackhole://nowhere"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		select {
		case e := <-ev:
			if e.Type != socket.EventDialFailed || !errors.Is(e.Err, socket.ErrTimeout) {
				t.Fatalf("event %v: %v", e.Type, e.Err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("attempt %d did not time out", i)
		}
	}

	drain(blackholeDials)
	w, _ := push.New()
	defer w.Close()
	wev := w.Events(16)
	if _, err := w.Dial("test-blackhole://nowhere"); err != nil {
		t.Fatal(err)
	}
	<-blackholeDials
	select {
	case e := <-wev:
		t.Fatalf("without ConnectTimeout: event %v: %v", e.Type, e.Err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := s.SetOption(socket.ConnectTimeout(-time.Second)); !errors.Is(err, socket.ErrBadOption) {
		t.Fatalf("a negative ConnectTimeout: %v", err)
	}
}

func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
