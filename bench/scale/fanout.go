package scale

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// fanWindow is how many messages the publisher may be ahead of its slowest
// subscriber; the high-water marks on both ends are above it, so a queue
// overflows only if something is wrong (and that is counted as drops).
const fanWindow = 256

// fanHWM is the high-water mark of the publisher's pipes and the
// subscribers' receive queues.
const fanHWM = 2*fanWindow + 64

// Message kinds, the first byte of a body.
const (
	kindWarm = 'W' // warm-up: ignored by the counting receivers
	kindData = 'D' // counted, with a sequence number in bytes 1..4
)

// FanOutResult is what FanOut measured.
type FanOutResult struct {
	Transport, Dialect string
	Subscribers        int
	Messages, Size     int           // messages published, bytes each
	Elapsed            time.Duration // first publish to last delivery
	Delivered          uint64        // messages received, all subscribers together
	Drops              uint64        // deliveries lost (publisher and subscribers)
	// PublishNS is the time per published message (Elapsed / Messages);
	// DeliveredPerSec the deliveries per second, all subscribers together.
	PublishNS, DeliveredPerSec float64
	// AllocsPerPublish counts the process' heap allocations per published
	// message (publisher and every subscriber).
	AllocsPerPublish float64
}

// progress counts what each receiver took and lets a paced sender wait
// for them.
type progress struct {
	got  []atomic.Int64
	poke chan struct{}
}

func newProgress(n int) *progress {
	return &progress{got: make([]atomic.Int64, n), poke: make(chan struct{}, 1)}
}

// add counts one message for receiver i and pokes the sender now and then.
func (p *progress) add(i int, final int64) {
	if n := p.got[i].Add(1); n%32 == 0 || n == final {
		select {
		case p.poke <- struct{}{}:
		default:
		}
	}
}

func (p *progress) slowest() int64 {
	m := p.got[0].Load()
	for i := 1; i < len(p.got); i++ {
		m = min(m, p.got[i].Load())
	}
	return m
}

func (p *progress) total() uint64 {
	var n uint64
	for i := range p.got {
		n += uint64(p.got[i].Load())
	}
	return n
}

// wait waits for a poke or d; false when ctx is done.
func (p *progress) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.poke:
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	return true
}

// FanOut makes one publisher listening on transport and subs subscribers
// dialing it in dialect ("sp" or "zmtp"; zmtp needs tcp or ipc), each
// subscribed to everything, then publishes msgs messages of size bytes (at
// least 8) and waits until every subscriber has received every one, in
// order. The publisher is paced (at most fanWindow messages ahead of the
// slowest subscriber), so nothing should drop; drops are counted and
// reported, and any other loss or disorder is an error.
func FanOut(transport, dialect string, subs, msgs, size int) (res FanOutResult, err error) {
	size = max(size, 8)
	res = FanOutResult{Transport: transport, Dialect: dialect, Subscribers: subs, Messages: msgs, Size: size}
	a, err := newAddrs()
	if err != nil {
		return res, err
	}
	defer a.cleanup()
	p, err := pub.New(socket.SendHWM(fanHWM))
	if err != nil {
		return res, err
	}
	ss := make([]*socket.Socket, subs)
	defer func() { closeAll(append(ss, p)) }()
	ln, err := p.Listen(a.url(transport))
	if err != nil {
		return res, err
	}
	for i := range ss {
		opts := append(dialOpts(dialect), socket.RecvHWM(fanHWM), sub.Subscribe(nil))
		if ss[i], err = sub.New(opts...); err != nil {
			return res, err
		}
		if _, err := ss[i].Dial(ln.URL()); err != nil {
			return res, err
		}
	}
	if err := waitPipes(p, subs); err != nil {
		return res, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	prog := newProgress(subs)
	var warm atomic.Int64   // subscribers that have seen a warm-up message
	var failed atomic.Value // the first receiver's error
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e := fanReceive(ctx, s, i, msgs, prog, &warm); e != nil && ctx.Err() == nil {
				failed.CompareAndSwap(nil, fmt.Errorf("subscriber %d: %w", i, e))
				cancel()
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
		if e, ok := failed.Load().(error); ok {
			err = e
		}
	}()

	// Warm up until every subscriber hears the publisher (a ZMTP
	// subscriber's subscription has to reach it first).
	if err := waitFor("fan-out warm-up", func() bool {
		m := socket.NewMessage(size)
		m.Body[0] = kindWarm
		p.Send(m)
		return warm.Load() == int64(subs)
	}); err != nil {
		return res, err
	}
	drops := func() uint64 {
		n := p.Stats().TotalDrops()
		for _, s := range ss {
			n += s.Stats().TotalDrops()
		}
		return n
	}
	drops0 := drops()

	want := uint64(msgs) * uint64(subs)
	m0 := mallocs()
	start := time.Now()
	low := int64(0)
	for i := range msgs {
		if int64(i)-low >= fanWindow {
			for low = prog.slowest(); int64(i)-low >= fanWindow/2; low = prog.slowest() {
				if !prog.wait(ctx, 10*time.Millisecond) {
					return res, fmt.Errorf("publish %d of %d: %w (slowest subscriber at %d)", i, msgs, ctx.Err(), low)
				}
				if drops() > drops0 {
					low = int64(i) // lost messages never arrive: stop pacing on them
					break
				}
			}
		}
		m := socket.NewMessage(size)
		m.Body[0] = kindData
		binary.BigEndian.PutUint32(m.Body[1:], uint32(i))
		if err := p.SendContext(ctx, m); err != nil {
			return res, fmt.Errorf("publish %d: %w", i, err)
		}
	}
	for {
		got := prog.total()
		if got == want {
			break
		}
		if d := drops() - drops0; d > 0 && got+d >= want {
			break
		}
		if !prog.wait(ctx, 10*time.Millisecond) {
			return res, fmt.Errorf("delivered %d of %d (drops %d): %w", got, want, drops()-drops0, ctx.Err())
		}
	}
	res.Elapsed = time.Since(start)
	allocs := mallocs() - m0
	res.Delivered = prog.total()
	res.Drops = drops() - drops0
	res.PublishNS = float64(res.Elapsed.Nanoseconds()) / float64(msgs)
	res.DeliveredPerSec = float64(res.Delivered) / res.Elapsed.Seconds()
	res.AllocsPerPublish = float64(allocs) / float64(msgs)
	return res, nil
}

// fanReceive takes messages on s until it has msgs data messages, checking
// that their sequence numbers increase (strictly, and without gaps unless
// something was dropped, which the caller sees in the counters).
func fanReceive(ctx context.Context, s *socket.Socket, i, msgs int, prog *progress, warm *atomic.Int64) error {
	sawWarm := false
	next := uint32(0)
	for prog.got[i].Load() < int64(msgs) {
		m, err := s.RecvContext(ctx)
		if err != nil {
			return err
		}
		switch {
		case len(m.Body) >= 1 && m.Body[0] == kindWarm:
			if !sawWarm {
				sawWarm = true
				warm.Add(1)
			}
		case len(m.Body) >= 5 && m.Body[0] == kindData:
			seq := binary.BigEndian.Uint32(m.Body[1:])
			if seq < next {
				m.Free()
				return fmt.Errorf("message %d after %d: out of order or repeated", seq, next-1)
			}
			next = seq + 1
			prog.add(i, int64(msgs))
		default:
			m.Free()
			return fmt.Errorf("unexpected message of %d bytes", len(m.Body))
		}
		m.Free()
	}
	return nil
}
