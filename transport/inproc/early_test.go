package inproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/inproc"
)

// A socket may dial an inproc name before anyone listens on it, as libzmq
// allows: it connects the moment a listener comes, not at its next
// reconnect try (an hour away here).
func TestDialBeforeListen(t *testing.T) {
	testutil.CheckGoroutines(t)
	url := testutil.URL(t, "inproc")
	out, _ := push.New(socket.ReconnectInterval(time.Hour))
	defer out.Close()
	if _, err := out.Dial(url); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the first try has been refused
	in, _ := pull.New()
	defer in.Close()
	if _, err := in.Listen(url); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := out.SendContext(ctx, socket.NewMessageBytes([]byte("early"))); err != nil {
		t.Fatal(err)
	}
	if m, err := in.RecvContext(ctx); err != nil || string(m.Body) != "early" {
		t.Fatalf("got %v, %v", m, err)
	}
}

// A listener wakes only the dialers waiting for its name: a dialer
// waiting on another name is not made to try again (and be refused) each
// time any name gets a listener. A name nobody waits for any more is
// forgotten, and a dialer that found its listener waits on nothing.
func TestListenWakesOnlyItsName(t *testing.T) {
	testutil.CheckGoroutines(t)
	waiter, _ := push.New(socket.ReconnectInterval(time.Hour))
	if _, err := waiter.Dial(testutil.URL(t, "inproc")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "first dial refused", 5*time.Second, func() bool { return waiter.Stats().DialFailures == 1 })
	var others []*socket.Socket
	var urls []string
	for range 20 {
		s, _ := pull.New()
		others = append(others, s)
		l, err := s.Listen(testutil.URL(t, "inproc"))
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, l.URL())
	}
	time.Sleep(50 * time.Millisecond)
	if n := waiter.Stats().DialFailures; n != 1 {
		t.Errorf("a dialer waiting for one name tried %d times while 20 others got listeners", n)
	}
	if n := inproc.WaitedNames(); n != 1 {
		t.Errorf("%d names waited on, want 1", n)
	}
	// One that finds its listener waits on nothing.
	for _, url := range urls[:5] {
		d, _ := push.New()
		defer d.Close()
		if _, err := d.Dial(url); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, "connected", 5*time.Second, func() bool { return d.Stats().Pipes == 1 })
	}
	if n := inproc.WaitedNames(); n != 1 {
		t.Errorf("%d names waited on after dials that connected, want 1", n)
	}
	waiter.Close()
	testutil.WaitFor(t, "the waited name forgotten", 5*time.Second, func() bool { return inproc.WaitedNames() == 0 })
	for _, s := range others {
		s.Close()
	}
}
