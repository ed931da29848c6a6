package sub_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// A subscriber that does not read while an SP publisher sends a burst
// keeps the newest messages, as nng's sub0 does (PreferNew, the default),
// or the oldest with PreferNew(false); the rest are counted as drops.
func TestPreferNew(t *testing.T) {
	const hwm, burst = 10, 2000
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		for _, preferNew := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/PreferNew=%v", tr, preferNew), func(t *testing.T) {
				testutil.CheckGoroutines(t)
				s, err := sub.New(sub.Subscribe(nil), socket.RecvHWM(hwm), sub.PreferNew(preferNew))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				p, _ := pub.New(socket.SendHWM(burst))
				defer p.Close()
				l, err := p.Listen(testutil.URL(t, tr))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Dial(l.URL()); err != nil {
					t.Fatal(err)
				}
				socktest.WaitPipes(t, p, 1)
				for i := range burst {
					if err := p.SendBytes([]byte(strconv.Itoa(i))); err != nil {
						t.Fatal(err)
					}
				}
				// Wait until every message has arrived: queued or dropped.
				deadline := time.Now().Add(10 * time.Second)
				for s.Stats().Dropped(socket.DropQueueFull) < burst-hwm {
					if time.Now().After(deadline) {
						t.Fatalf("%d of %d dropped", s.Stats().Dropped(socket.DropQueueFull), burst-hwm)
					}
					time.Sleep(time.Millisecond)
				}
				var got []int
				for {
					c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
					m, err := s.RecvContext(c)
					cancel()
					if err != nil {
						break
					}
					n, _ := strconv.Atoi(string(m.Body))
					got = append(got, n)
					m.Free()
				}
				if len(got) != hwm {
					t.Fatalf("received %d messages, want %d: %v", len(got), hwm, got)
				}
				first := burst - hwm // the newest hwm
				if !preferNew {
					first = 0 // the oldest hwm
				}
				for i, n := range got {
					if n != first+i {
						t.Fatalf("received %v, want %d to %d", got, first, first+hwm-1)
					}
				}
			})
		}
	}
}
