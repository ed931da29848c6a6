package inproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
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
