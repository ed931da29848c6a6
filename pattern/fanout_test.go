package pattern_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// A publication goes to every stream subscriber as one shared message
// (socket.PipeSet.BroadcastTo), and to every inproc subscriber as a copy of
// its own. Inproc subscribers here write over what they receive, as an
// owner may; every subscriber must still get each body intact, whether the
// writer copies it into its buffer or passes it to the kernel as it is
// (bodies over 16 KiB), over SP and ZMTP.
func TestPubSharedPublicationIntact(t *testing.T) {
	testutil.CheckGoroutines(t)
	const msgs = 300
	sizes := []int{1, 64, 1000, 20 << 10, 100 << 10}
	p := must(pub.New(socket.SendHWM(4*msgs), socket.SendQueueBytes(64<<20)))
	closeAll(t, p)
	var subs []*socket.Socket
	scribble := map[*socket.Socket]bool{}
	add := func(url string, zmtp, scribbles bool) {
		// An SP subscriber drops its oldest when its queue is full; the
		// bytes bound has to hold every publication (7.4 MB) for a slow
		// reader not to lose any.
		opts := []socket.Option{sub.Subscribe(nil), socket.RecvHWM(4 * msgs), socket.RecvQueueBytes(64 << 20)}
		if zmtp {
			opts = append(opts, socket.DialDialect(socket.DialectZMTP))
		}
		s := must(sub.New(opts...))
		closeAll(t, s)
		must(s.Dial(url))
		subs = append(subs, s)
		scribble[s] = scribbles
	}
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		ln := must(p.Listen(testutil.URL(t, tr)))
		add(ln.URL(), false, tr == "inproc")
		add(ln.URL(), tr != "inproc", tr == "inproc")
	}
	socktest.WaitPipes(t, p, len(subs))
	// A ZMTP subscriber's subscription has to reach the publisher first;
	// the warm-ups left queued are skipped below.
	for _, s := range subs {
		for {
			send(t, p, "warm")
			c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			m, err := s.RecvContext(c)
			cancel()
			if err == nil {
				m.Free()
				break
			}
		}
	}

	body := func(i int) []byte {
		b := make([]byte, sizes[i%len(sizes)])
		for j := range b {
			b[j] = byte(i*7 + j)
		}
		if len(b) >= 4 {
			binary.BigEndian.PutUint32(b, uint32(i))
		}
		return b
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(subs))
	for k, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < msgs; {
				m, err := s.RecvContext(ctx(t))
				if err != nil {
					errs <- fmt.Errorf("subscriber %d, message %d: %w", k, i, err)
					return
				}
				if string(m.Body) == "warm" {
					m.Free()
					continue
				}
				if want := body(i); !bytes.Equal(m.Body, want) {
					errs <- fmt.Errorf("subscriber %d, message %d: %d bytes, not the %d published (drops %v)", k, i, len(m.Body), len(want), s.Stats().Drops)
					m.Free()
					return
				}
				if scribble[s] {
					for j := range m.Body {
						m.Body[j] ^= 0xA5
					}
				}
				m.Free()
				i++
			}
		}()
	}
	for i := range msgs {
		b := body(i)
		m := socket.NewMessage(len(b))
		copy(m.Body, b)
		if err := p.SendContext(ctx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := p.Stats().TotalDrops(); d > 0 {
		t.Errorf("publisher dropped %d", d)
	}
}
