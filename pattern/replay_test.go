package pattern_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// A subscriber (sub or xsub) with many subscriptions tells each new ZMTP
// publisher all of them at once, and they wait in the pipe's queue while
// the publisher is slow to read: they must cost little more than their
// topics there (one message each cost about 300 bytes a subscription: 300
// MB for a million), and every one must arrive.
func TestSubscriptionsReplayedCompactly(t *testing.T) {
	for _, kind := range []string{"sub", "xsub"} {
		t.Run(kind, func(t *testing.T) { testReplayedCompactly(t, kind) })
	}
}

func testReplayedCompactly(t *testing.T, kind string) {
	testutil.CheckGoroutines(t)
	const n = 200_000
	opts := []socket.Option{socket.DialDialect(socket.DialectZMTP), socket.SendBuffer(128 << 10)}
	var s *socket.Socket
	var err error
	if kind == "sub" {
		s, err = sub.New(opts...)
	} else {
		s, err = xsub.New(opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		topic := fmt.Appendf(nil, "topic-%06d", i)
		if kind == "sub" {
			err = s.SetOption(sub.Subscribe(topic))
		} else {
			err = s.Send(socket.NewMessageBytes(append([]byte{1}, topic...)))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	before := heapInUse()
	if _, err := s.Dial("tcp://" + ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A ZMTP 3.1 publisher that does not read yet: what the socket
	// buffers do not take waits in the subscriber's queue.
	hello := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor31, Mechanism: zmtp.MechanismNull})
	hello = zmtp.AppendReady(hello, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(zmtp.TypePUB)})
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); s.Stats().Pipes == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no pipe")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	perSub := float64(int64(heapInUse())-int64(before)) / n
	t.Logf("%.0f bytes a queued subscription", perSub)
	if perSub > 64 {
		t.Errorf("%.0f bytes a queued subscription, want at most 64", perSub)
	}

	// Now read them all: a greeting, READY, then a SUBSCRIBE each.
	r := bufio.NewReaderSize(c, 1<<16)
	var g [zmtp.GreetingSize]byte
	if _, err := io.ReadFull(r, g[:]); err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, n)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(seen) < n+1 { // +1: READY
		flags, err := r.ReadByte()
		if err != nil {
			t.Fatalf("after %d commands: %v", len(seen), err)
		}
		size := uint64(0)
		if flags&zmtp.FlagLong != 0 {
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				t.Fatal(err)
			}
			for _, x := range b {
				size = size<<8 | uint64(x)
			}
		} else {
			b, err := r.ReadByte()
			if err != nil {
				t.Fatal(err)
			}
			size = uint64(b)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("after %d commands, a body of %d: %v", len(seen), size, err)
		}
		if flags&zmtp.FlagCommand == 0 {
			t.Fatalf("a data frame %q", body)
		}
		name, data, err := zmtp.ParseCommand(body)
		if err != nil {
			t.Fatal(err)
		}
		switch string(name) {
		case "READY":
			seen[""] = true
		case "SUBSCRIBE":
			if seen[string(data)] {
				t.Fatalf("%q twice", data)
			}
			seen[string(data)] = true
		default:
			t.Fatalf("command %q", name)
		}
	}
	for i := range n {
		if topic := fmt.Sprintf("topic-%06d", i); !seen[topic] {
			t.Fatalf("%q never told", topic)
		}
	}
}

// A topic too long to pack goes on its own among the packed ones: an
// inproc XPUB is told every topic once, the long one whole.
func TestLongTopicReplayed(t *testing.T) {
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			long := bytes.Repeat([]byte("L"), 20<<10)
			want := map[string]bool{"a": true, string(long): true, "": true, "b": true}
			s, err := sub.New(socket.DialDialect(socket.DialectZMTP))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for topic := range want {
				if err := s.SetOption(sub.Subscribe([]byte(topic))); err != nil {
					t.Fatal(err)
				}
			}
			x, err := xpub.New()
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			ln, err := x.Listen(testutil.URL(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Dial(ln.URL()); err != nil {
				t.Fatal(err)
			}
			for range want {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				m, err := x.RecvContext(ctx)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Body) == 0 || m.Body[0] != 1 || !want[string(m.Body[1:])] {
					t.Fatalf("xpub got %.20q", m.Body)
				}
				delete(want, string(m.Body[1:]))
				m.Free()
			}
		})
	}
}
