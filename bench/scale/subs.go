package scale

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// SubsResult is what Subscriptions measured.
type SubsResult struct {
	Transport, Dialect string
	Subscriptions      int
	Messages           int           // published in each phase, 64 bytes each
	SetupTime          time.Duration // subscribing to every topic, until the publisher had them all
	// HeapPerSub is the heap the subscriptions hold, both ends together,
	// per subscription.
	HeapPerSub float64
	// HitNS is the publisher's time per Send of a message that matches a
	// subscription (filtering and queueing it); MissNS the same for a
	// message that matches none (a ZMTP publisher sends it nowhere, an SP
	// one sends it for the subscriber to discard).
	HitNS, MissNS float64
	// EndToEndNS is the time per matching message from the first publish
	// to the last one received by the subscriber application, which
	// filters too.
	EndToEndNS float64
	Drops      uint64
}

// topicLen is the length of every topic: "t" and seven digits. No topic
// is a prefix of another.
const topicLen = 8

func topic(i int) []byte {
	var b [topicLen]byte
	putTopic(b[:], i)
	return b[:]
}

// putTopic writes topic i into b[:topicLen] without allocating.
func putTopic(b []byte, i int) {
	b[0] = 't'
	for j := topicLen - 1; j > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
}

// subBatch is how many subscriptions are sent before waiting for the
// publisher to have them, so that the setup time is measured in steps.
// (Until session 17 the batches also kept them under the pipe's
// high-water mark, past which subscriptions were lost.)
const subBatch = 500

// newSubscriber makes the subscriber of kind: "sp" (sub over SP), "zmtp"
// (sub over ZMTP) or "xsub" (XSUB over ZMTP, which does not filter what it
// receives: the publisher alone does). subscribe subscribes (or, with
// false, unsubscribes) it to a topic.
func newSubscriber(kind string, hwm int) (s *socket.Socket, subscribe func(t []byte, on bool) error, err error) {
	if kind == "xsub" {
		s, err = xsub.New(socket.RecvHWM(hwm), socket.SendHWM(2*subBatch))
		subscribe = func(t []byte, on bool) error {
			m := socket.NewMessage(1 + len(t)) // pooled: not zeroed
			m.Body[0] = 0
			if on {
				m.Body[0] = 1
			}
			copy(m.Body[1:], t)
			return s.Send(m)
		}
		return s, subscribe, err
	}
	s, err = sub.New(append(dialOpts(kind), socket.RecvHWM(hwm))...)
	subscribe = func(t []byte, on bool) error {
		if on {
			return s.SetOption(sub.Subscribe(t))
		}
		return s.SetOption(sub.Unsubscribe(t))
	}
	return s, subscribe, err
}

// Subscriptions makes one publisher listening on transport and one
// subscriber of kind dialect (see newSubscriber) dialing it, subscribed to n distinct topics, then
// publishes msgs messages to topics spread over all n and msgs messages to
// no subscribed topic, and times both. The subscriber must receive every
// matching message, in order, and no other.
func Subscriptions(transport, dialect string, n, msgs int) (res SubsResult, err error) {
	res = SubsResult{Transport: transport, Dialect: dialect, Subscriptions: n, Messages: msgs}
	a, err := newAddrs()
	if err != nil {
		return res, err
	}
	defer a.cleanup()
	// Room for every hit, and for late copies of the sync topics ahead
	// of them (an SP subscriber that finds its queue full drops the
	// oldest, a hit; once in CI under the race detector, 92 of 300 hits
	// were dropped with the room at msgs+64).
	hwm := 2*msgs + 1024
	p, err := pub.New(socket.SendHWM(hwm))
	if err != nil {
		return res, err
	}
	defer p.Close()
	s, subscribe, err := newSubscriber(dialect, hwm)
	if err != nil {
		return res, err
	}
	defer s.Close()
	ln, err := p.Listen(a.url(transport))
	if err != nil {
		return res, err
	}
	if _, err := s.Dial(ln.URL()); err != nil {
		return res, err
	}
	if err := waitPipes(p, 1); err != nil {
		return res, err
	}
	if err := waitPipes(s, 1); err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()

	// Subscribe, in batches, each ended by a sync topic that the
	// publisher is asked to publish until the subscriber gets it.
	m0 := readMem()
	start := time.Now()
	for i := 0; i < n; i += subBatch {
		for j := i; j < min(i+subBatch, n); j++ {
			if err := subscribe(topic(j), true); err != nil {
				return res, err
			}
		}
		if err := subSync(ctx, p, s, subscribe, fmt.Appendf(nil, "~sync%d", i)); err != nil {
			return res, err
		}
	}
	res.SetupTime = time.Since(start)
	res.HeapPerSub = (float64(readMem().heap) - float64(m0.heap)) / float64(n)
	drops0 := p.Stats().TotalDrops() + s.Stats().TotalDrops()

	var hit, miss, e2e []float64
	for range subRounds {
		h, e, err := subsHit(ctx, p, s, n, msgs)
		if err != nil {
			return res, err
		}
		m, err := subsMiss(ctx, p, n, msgs)
		if err != nil {
			return res, err
		}
		// An SP subscriber receives and discards the misses: let it
		// finish before the next round.
		if err := subSync(ctx, p, s, subscribe, fmt.Appendf(nil, "~miss%d", len(hit))); err != nil {
			return res, err
		}
		hit, e2e, miss = append(hit, h), append(e2e, e), append(miss, m)
	}
	res.HitNS, res.MissNS, res.EndToEndNS = median(hit), median(miss), median(e2e)
	res.Drops = p.Stats().TotalDrops() + s.Stats().TotalDrops() - drops0
	return res, nil
}

// subSync subscribes s to t, publishes t on p until s receives it, then
// unsubscribes: after that the publisher has every subscription sent
// before t. Messages of earlier sync topics still arriving are discarded.
// The wait for each copy starts short and doubles: a subscription that
// travels to the publisher takes tens of microseconds, and a fixed 5 ms
// wait made the setup time of 100,000 ZMTP subscriptions (200 syncs) mostly
// waiting (2 s, against 0.3 s of subscribing).
func subSync(ctx context.Context, p, s *socket.Socket, subscribe func([]byte, bool) error, t []byte) error {
	if err := subscribe(t, true); err != nil {
		return err
	}
	for wait := 50 * time.Microsecond; ; wait = min(2*wait, 5*time.Millisecond) {
		m := socket.NewMessageBytes(t)
		if err := p.SendContext(ctx, m); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, wait)
		for {
			r, err := s.RecvContext(rctx)
			if err != nil {
				break
			}
			ok := string(r.Body) == string(t)
			r.Free()
			if ok {
				cancel()
				if err := subscribe(t, false); err != nil {
					return err
				}
				drainQueued(s)
				return nil
			}
		}
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("sync %q: %w", t, ctx.Err())
		}
	}
}

// drainQueued discards what s has queued, without waiting. After a sync
// those are late copies of the sync message: on a loaded machine a
// subscriber that fell behind can have dozens queued, and an SP subscriber,
// which drops what its full queue has no room for (as nng's does), would
// then drop messages of the phase that follows.
func drainQueued(s *socket.Socket) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		m, err := s.RecvContext(ctx)
		if err != nil {
			return
		}
		m.Free()
	}
}

// subRounds is how many times the hit and miss phases run; the median is
// reported.
const subRounds = 3

// subsHit publishes msgs messages on topics spread over the n subscribed
// ones, checks that s receives them all in order, and returns the
// publisher's time and the time to the last receipt, per message.
func subsHit(ctx context.Context, p, s *socket.Socket, n, msgs int) (pubNS, e2eNS float64, err error) {
	var got, late atomic.Int64
	recvErr := make(chan error, 1)
	go func() {
		next := uint32(0)
		want := make([]byte, topicLen)
		for got.Load() < int64(msgs) {
			m, err := s.RecvContext(ctx)
			if err != nil {
				recvErr <- err
				return
			}
			if len(m.Body) > 0 && m.Body[0] == '~' {
				m.Free() // a late copy of a sync message
				late.Add(1)
				continue
			}
			if len(m.Body) < topicLen+4 || m.Body[0] != 't' {
				recvErr <- fmt.Errorf("unexpected message %q", m.Body)
				m.Free()
				return
			}
			seq := binary.BigEndian.Uint32(m.Body[topicLen:])
			putTopic(want, int(seq)*7919%n)
			if string(m.Body[:topicLen]) != string(want) || seq != next {
				recvErr <- fmt.Errorf("message %d on %q, want message %d on %q", seq, m.Body[:topicLen], next, want)
				m.Free()
				return
			}
			next++
			got.Add(1)
			m.Free()
		}
		recvErr <- nil
	}()
	start := time.Now()
	for i := range msgs {
		m := socket.NewMessage(64)
		putTopic(m.Body, i*7919%n)
		binary.BigEndian.PutUint32(m.Body[topicLen:], uint32(i))
		if err := p.SendContext(ctx, m); err != nil {
			return 0, 0, err
		}
	}
	pubNS = float64(time.Since(start).Nanoseconds()) / float64(msgs)
	if err := <-recvErr; err != nil {
		return 0, 0, fmt.Errorf("received %d of %d and %d late sync copies (drops: publisher %d, subscriber %d): %w",
			got.Load(), msgs, late.Load(), p.Stats().TotalDrops(), s.Stats().TotalDrops(), err)
	}
	return pubNS, float64(time.Since(start).Nanoseconds()) / float64(msgs), nil
}

// subsMiss publishes msgs messages on topics not subscribed to and returns
// the publisher's time per message.
func subsMiss(ctx context.Context, p *socket.Socket, n, msgs int) (float64, error) {
	start := time.Now()
	for i := range msgs {
		m := socket.NewMessage(64)
		putTopic(m.Body, n+i%1000)
		if err := p.SendContext(ctx, m); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(msgs), nil
}
