package socket

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// ZMTP 3.1 heartbeats (libzmq's ZMQ_HEARTBEAT_IVL, _TIMEOUT and _TTL).
//
// Every ZMTP pipe answers a PING with a PONG whatever the socket is doing
// (the codec does it from the reader goroutine). With HeartbeatInterval set,
// a pipe also sends a PING every interval, and closes when nothing at all has
// come from the peer for HeartbeatTimeout (any traffic counts as life). A
// peer's PING that carries a TTL makes the pipe close when nothing comes
// within that TTL, as libzmq does. A dialer then reconnects as after any
// other failure.

// HeartbeatInterval makes ZMTP pipes send a PING every d; zero (the
// default, as in libzmq) sends none.
func HeartbeatInterval(d time.Duration) Option {
	return heartbeatOption("HeartbeatInterval", d, func(c *config) *atomic.Int64 { return &c.heartbeatIvl })
}

// HeartbeatTimeout closes a ZMTP pipe whose peer has sent nothing for d
// while heartbeats are on; zero (the default) means the interval.
func HeartbeatTimeout(d time.Duration) Option {
	return heartbeatOption("HeartbeatTimeout", d, func(c *config) *atomic.Int64 { return &c.heartbeatTimeout })
}

// HeartbeatTTL is the time to live our PINGs announce: a peer that hears
// nothing from us for that long drops the connection. It is carried in
// tenths of a second, up to about 109 minutes; zero (the default) announces
// none.
func HeartbeatTTL(d time.Duration) Option {
	return heartbeatOption("HeartbeatTTL", d, func(c *config) *atomic.Int64 { return &c.heartbeatTTL })
}

func heartbeatOption(name string, d time.Duration, field func(*config) *atomic.Int64) Option {
	return NewOption(name, func(s *Socket) error {
		if s.info.ZMTPType == "" {
			return fmt.Errorf("%w: %s on %s (heartbeats are ZMTP's)", ErrOptionNotApplicable, name, s.info.Name)
		}
		if d < 0 || d > time.Duration(0xffff)*100*time.Millisecond {
			return badOption(name, d)
		}
		field(&s.cfg).Store(int64(d))
		return nil
	})
}

// minHeartbeatTick bounds how often a watchdog looks, whatever the TTL.
const minHeartbeatTick = 10 * time.Millisecond

// heartbeat is a ZMTP pipe's watchdog goroutine: it sends PINGs when the
// interval is set and closes the pipe when the peer has been silent too long.
func (p *Pipe) heartbeat(c *zmtpCodec) {
	defer p.sock.wg.Done()
	cfg := &p.sock.cfg
	ivl := time.Duration(cfg.heartbeatIvl.Load())
	timeout := time.Duration(cfg.heartbeatTimeout.Load())
	if timeout == 0 {
		timeout = ivl
	}
	ttl := zmtp.PingTTL(time.Duration(cfg.heartbeatTTL.Load()))
	tick := ivl
	if tick == 0 {
		tick = max(time.Duration(c.peerTTL.Load())/4, minHeartbeatTick)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	seen, since := c.seen.Load(), time.Now()
	for {
		select {
		case <-p.done:
			return
		case now := <-t.C:
			if n := c.seen.Load(); n != seen {
				seen, since = n, now
			}
			limit := timeout
			if peer := time.Duration(c.peerTTL.Load()); peer > 0 && (limit == 0 || peer < limit) {
				limit = peer
			}
			if limit > 0 && now.Sub(since) > limit {
				p.Close(fmt.Errorf("zmtp heartbeat: %w: nothing from the peer for %v", ErrTimeout, now.Sub(since).Round(time.Millisecond)))
				return
			}
			if ivl > 0 {
				select {
				case p.ctrl <- zmtp.AppendPing(nil, ttl, nil):
					p.sendq.commandQueued()
				default: // PONGs or PINGs already waiting: the peer will hear from us
				}
			}
		}
	}
}

// startHeartbeat starts the watchdog once per pipe: at the start when our
// interval is set, or when the peer first asks for one with a PING's TTL.
func (p *Pipe) startHeartbeat(c *zmtpCodec) {
	if c.watching.CompareAndSwap(false, true) {
		p.sock.wg.Add(1)
		go p.heartbeat(c)
	}
}
