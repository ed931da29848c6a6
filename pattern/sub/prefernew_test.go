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
				s := newSubscriber(t, hwm, sub.PreferNew(preferNew))
				p := newPublisher(t, s, tr, burst)
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

// While the reader takes messages, flooding publishers' overflow drops the
// oldest waiting: what the reader gets from each stays in order, without
// duplicates, and what it gets and what was dropped add up to what was
// sent. Two publishers, so that their pipes' readers queue (and drop)
// beside the reader rather than leave the reading to it.
func TestPreferNewWhileReading(t *testing.T) {
	const hwm, burst = 16, 3000
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s := newSubscriber(t, hwm)
			pubs := []*socket.Socket{newPublisher(t, s, tr, burst), newPublisher(t, s, tr, burst)}
			for k, p := range pubs {
				go func() {
					for i := range burst {
						if p.SendBytes(fmt.Appendf(nil, "%d %d", k, i)) != nil {
							return
						}
						if i%8 == 0 {
							time.Sleep(10 * time.Microsecond) // a paced flood
						}
					}
				}()
			}
			last := []int{-1, -1}
			received := 0
			for received+int(s.Stats().Dropped(socket.DropQueueFull)) < 2*burst {
				c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				m, err := s.RecvContext(c)
				cancel()
				if err != nil {
					t.Fatalf("after %d received and %d dropped: %v", received, s.Stats().Dropped(socket.DropQueueFull), err)
				}
				var k, n int
				fmt.Sscan(string(m.Body), &k, &n)
				m.Free()
				if n <= last[k] {
					t.Fatalf("received %d from publisher %d after %d", n, k, last[k])
				}
				last[k] = n
				received++
				time.Sleep(20 * time.Microsecond) // a slow reader
			}
			dropped := int(s.Stats().Dropped(socket.DropQueueFull))
			if received+dropped != 2*burst || dropped == 0 {
				t.Fatalf("%d received and %d dropped, %d sent", received, dropped, 2*burst)
			}
		})
	}
}

// A subscriber with one publisher reads its connection itself while it
// keeps up (read-through); once it falls behind, the pipe's reader reads
// on and drops the oldest, as nng's does, rather than leaving the stream
// in the connection: the newest message arrives, and what was dropped was
// dropped here, not at the publisher.
func TestPreferNewSlowReader(t *testing.T) {
	const hwm, burst = 16, 20000
	for _, tr := range []string{"ipc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s := newSubscriber(t, hwm)
			p := newPublisher(t, s, tr, burst) // the publisher drops nothing
			recvN := func() int {
				c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				m, err := s.RecvContext(c)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Free()
				n, _ := strconv.Atoi(string(m.Body))
				return n
			}
			// Caught up: the application holds the read turn.
			p.SendBytes([]byte("-1"))
			if n := recvN(); n != -1 {
				t.Fatalf("got %d", n)
			}
			go func() {
				for i := range burst {
					if p.SendBytes([]byte(strconv.Itoa(i))) != nil {
						return
					}
				}
			}()
			last := -1
			for last != burst-1 {
				n := recvN()
				if n <= last {
					t.Fatalf("received %d after %d", n, last)
				}
				last = n
				time.Sleep(20 * time.Microsecond) // a slow reader
			}
			if s.Stats().Dropped(socket.DropQueueFull) == 0 {
				t.Fatal("the subscriber dropped nothing: the stream backed up to the publisher")
			}
		})
	}
}

// newSubscriber returns a subscriber to everything with RecvHWM hwm,
// closed when the test ends.
func newSubscriber(t *testing.T, hwm int, opts ...socket.Option) *socket.Socket {
	t.Helper()
	s, err := sub.New(append([]socket.Option{sub.Subscribe(nil), socket.RecvHWM(hwm)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newPublisher returns a publisher that queues up to sendHWM messages,
// listening on transport tr, once s has dialed it; closed when the test
// ends.
func newPublisher(t *testing.T, s *socket.Socket, tr string, sendHWM int) *socket.Socket {
	t.Helper()
	p, _ := pub.New(socket.SendHWM(sendHWM))
	t.Cleanup(func() { p.Close() })
	l, err := p.Listen(testutil.URL(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	socktest.WaitPipes(t, p, 1)
	return p
}
