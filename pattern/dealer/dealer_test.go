package dealer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// Each message goes to exactly one of two ROUTER peers, alternately; what
// the peers send comes in from both.
func TestRoundRobinAndFairQueue(t *testing.T) {
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			d := must(dealer.New())
			defer d.Close()
			var rs []*socket.Socket
			for i := range 2 {
				r := must(router.New())
				defer r.Close()
				ln := must(r.Listen(testutil.URL(t, tr)))
				must(d.Dial(ln.URL()))
				socktest.WaitPipes(t, r, 1)
				socktest.WaitPipes(t, d, i+1)
				rs = append(rs, r)
			}
			const n = 20
			for i := range n {
				m := socket.NewMessageBytes(fmt.Appendf(nil, "m%d", i))
				m.Frames = [][]byte{[]byte("tail")}
				if err := d.SendContext(ctx(t), m); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]bool{}
			var ids [2][]byte
			for k, r := range rs {
				for range n / 2 {
					m, err := r.RecvContext(ctx(t))
					if err != nil {
						t.Fatal(err)
					}
					body := string(m.Frames[0])
					if seen[body] || len(m.Frames) != 2 || string(m.Frames[1]) != "tail" {
						t.Fatalf("router %d got %q %q", k, body, m.Frames)
					}
					seen[body] = true
					ids[k] = m.Body
				}
			}
			for k, r := range rs {
				c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				if m, err := r.RecvContext(c); err == nil {
					t.Fatalf("router %d got one more: %q", k, m.Frames)
				}
				cancel()
				for i := range 3 {
					m := socket.NewMessageBytes(ids[k])
					m.Frames = [][]byte{fmt.Appendf(nil, "from %d/%d", k, i)}
					if err := r.SendContext(ctx(t), m); err != nil {
						t.Fatal(err)
					}
				}
			}
			from := map[byte]int{}
			for range 6 {
				m, err := d.RecvContext(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				from[m.Body[5]]++
			}
			if from['0'] != 3 || from['1'] != 3 {
				t.Fatalf("dealer received %v", from)
			}
		})
	}
}

// At the high-water mark of every peer (or with no peer) Send waits, then
// times out.
func TestSendBlocksAtHWM(t *testing.T) {
	testutil.CheckGoroutines(t)
	d := must(dealer.New(socket.SendHWM(2), socket.SendTimeout(30*time.Millisecond)))
	defer d.Close()
	if err := d.SendBytes([]byte("nobody")); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("send with no peer: %v", err)
	}
	r := must(router.New(socket.RecvHWM(1)))
	defer r.Close()
	ln := must(r.Listen(testutil.URL(t, "inproc")))
	must(d.Dial(ln.URL()))
	socktest.WaitPipes(t, d, 1)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = d.SendBytes([]byte("x"))
	}
	if !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("send to a full peer: %v", err)
	}
}

// A DEALER puts the empty delimiter in front of a request for a REP peer.
func Example() {
	r, _ := router.New()
	defer r.Close()
	l, _ := r.Listen("inproc://dealer-example")
	d, _ := dealer.New()
	defer d.Close()
	d.Dial(l.URL())

	m := socket.NewMessageBytes([]byte("part one"))
	m.Frames = [][]byte{[]byte("part two")}
	d.Send(m)
	got, _ := r.Recv()
	fmt.Printf("%d-byte id, then %q %q\n", len(got.Body), got.Frames[0], got.Frames[1])
	// Output: 5-byte id, then "part one" "part two"
}
