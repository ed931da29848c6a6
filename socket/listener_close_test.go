package socket_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// Closing a listener closes the connections it accepted, as
// nng_listener_close and zmq_unbind do; the socket's connections through
// its other listener stay up.
func TestListenerCloseDropsItsPipes(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			q := must(pull.New())
			a := must(push.New())
			b := must(push.New())
			closeAll(t, q, a, b)
			ev := q.Events(32)
			gone := must(q.Listen(testutil.URL(t, tr)))
			kept := must(q.Listen(testutil.URL(t, tr)))
			must(a.Dial(gone.URL()))
			must(b.Dial(kept.URL()))
			send(t, a, "a1")
			send(t, b, "b1")
			got := map[string]bool{recv(t, q): true, recv(t, q): true}
			if !got["a1"] || !got["b1"] {
				t.Fatalf("got %v", got)
			}
			if err := gone.Close(); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(5 * time.Second)
			for disconnected := false; !disconnected; {
				select {
				case e := <-ev:
					if e.Type == socket.EventDisconnected {
						if !errors.Is(e.Err, socket.ErrClosed) {
							t.Fatalf("the listener's pipe ended with %v", e.Err)
						}
						disconnected = true
					}
				case <-deadline:
					t.Fatal("the closed listener's pipe is still up")
				}
			}
			if n := q.Stats().Pipes; n != 1 {
				t.Fatalf("%d pipes after closing one of two listeners", n)
			}
			send(t, b, "b2")
			if got := recv(t, q); got != "b2" {
				t.Fatalf("got %q through the other listener", got)
			}
		})
	}
}
