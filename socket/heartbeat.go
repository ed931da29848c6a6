package socket

import (
	"fmt"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// ZMTP 3.1 heartbeats (libzmq's ZMQ_HEARTBEAT_IVL, _TIMEOUT and _TTL).
//
// Every ZMTP pipe answers a PING with a PONG whatever the socket is doing
// (the codec does it from the reader goroutine). With HeartbeatInterval set,
// a pipe also sends a PING every interval, and closes when nothing at all
// has come from the peer within HeartbeatTimeout of a PING (any traffic
// counts as an answer), as libzmq does. A
// peer's PING that carries a TTL makes the pipe close when nothing comes
// within that TTL, as libzmq does. A dialer then reconnects as after any
// other failure.
//
// Over ws:// and wss:// the heartbeats are WebSocket's pings and pongs, as
// libzmq's (its ws transport drops ZMTP PINGs): a ping every interval, and
// pings and pongs count as life. WebSocket's ping carries no TTL, so
// HeartbeatTTL does not travel over ws, as with libzmq.

// HeartbeatInterval makes ZMTP pipes send a PING every d; zero (the
// default, as in libzmq) sends none.
func HeartbeatInterval(d time.Duration) Option {
	return heartbeatOption("HeartbeatInterval", d, func(c *config) *atomic.Int64 { return &c.heartbeatIvl })
}

// HeartbeatTimeout closes a ZMTP pipe whose peer has sent nothing at all
// within d of a PING of ours (libzmq's ZMQ_HEARTBEAT_TIMEOUT). Zero never
// closes it (PINGs still go, and keep idle middleboxes open), as in
// libzmq; left unset, it is the interval.
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

// watchdog is a ZMTP pipe's heartbeat timer. With the interval set it sends
// a PING every interval and, as libzmq does, closes the pipe when nothing
// at all has come within the timeout of the first PING still unanswered;
// a peer's TTL closes it when the peer has been silent that long. It is a
// timer's callback, not a goroutine, so that an idle connection with
// heartbeats keeps no goroutine of its own for them; each run arms the
// next, so runs never overlap, and its fields are the callback's own.
type watchdog struct {
	p     *Pipe
	c     *zmtpCodec
	t     *time.Timer
	ivl   time.Duration // our PING interval (0: none)
	limit time.Duration // our timeout for an answer to a PING (0: none)
	ttl   uint16        // the TTL our PINGs announce, in tenths of a second
	// ping is our PING, made once: every PING is the same, and nothing
	// writes to it, so each write and the writer's queue may hold it.
	ping     []byte
	seen     uint64    // heard() at the last run
	since    time.Time // when a run last saw heard() move (or the start)
	pingAt   time.Time // when the first PING not yet answered went (zero: none)
	nextPing time.Time
}

// check is one run of the watchdog.
func (wd *watchdog) check() {
	p, c := wd.p, wd.c
	if c.watchdog.Load() != wd || p.closing.Load() {
		return
	}
	now := time.Now()
	if n := wd.heard(); n != wd.seen {
		// Something came since the last run, so after any PING it sent.
		wd.seen, wd.since, wd.pingAt = n, now, time.Time{}
	}
	peer := time.Duration(c.peerTTL.Load())
	if peer > 0 && now.Sub(wd.since) > peer {
		p.Close(fmt.Errorf("zmtp heartbeat: %w: nothing from the peer for %v, its TTL", ErrTimeout, now.Sub(wd.since).Round(time.Millisecond)))
		return
	}
	if wd.limit > 0 && !wd.pingAt.IsZero() && now.Sub(wd.pingAt) >= wd.limit {
		p.Close(fmt.Errorf("zmtp heartbeat: %w: nothing from the peer for %v after our PING", ErrTimeout, now.Sub(wd.pingAt).Round(time.Millisecond)))
		return
	}
	if wd.ivl > 0 && !now.Before(wd.nextPing) {
		if p.heartbeater != nil {
			p.heartbeater.Ping()
		} else {
			p.sendCommand(wd.ping)
		}
		if wd.pingAt.IsZero() {
			wd.pingAt = now
		}
		wd.nextPing = now.Add(wd.ivl)
	}
	wd.t.Reset(max(wd.next(now, peer).Sub(now), minHeartbeatTick))
}

// next is when the watchdog runs again: for the next PING, at the
// unanswered PING's deadline, or to look at the peer's silence a few times
// within its TTL, whichever is first.
func (wd *watchdog) next(now time.Time, peer time.Duration) time.Time {
	at := now.Add(time.Hour)
	if wd.ivl > 0 {
		at = wd.nextPing
	}
	if wd.limit > 0 && !wd.pingAt.IsZero() && wd.pingAt.Add(wd.limit).Before(at) {
		at = wd.pingAt.Add(wd.limit)
	}
	if peer > 0 && now.Add(peer/4).Before(at) {
		at = now.Add(peer / 4)
	}
	return at
}

// heard counts what has come from the peer: frames, and the stream's own
// heartbeats.
func (wd *watchdog) heard() uint64 {
	n := wd.c.seen.Load()
	if hb := wd.p.heartbeater; hb != nil {
		n += hb.Heard()
	}
	return n
}

// startHeartbeat starts the watchdog once per pipe: at the start when our
// interval is set, or when the peer first asks for one with a PING's TTL.
// The pipe's close stops it (stopHeartbeat).
func (p *Pipe) startHeartbeat(c *zmtpCodec) {
	if !c.watching.CompareAndSwap(false, true) {
		return
	}
	cfg := &p.sock.cfg
	wd := &watchdog{p: p, c: c, ivl: time.Duration(cfg.heartbeatIvl.Load()), limit: time.Duration(cfg.heartbeatTimeout.Load())}
	if wd.limit < 0 { // unset
		wd.limit = wd.ivl
	}
	wd.ttl = zmtp.PingTTL(time.Duration(cfg.heartbeatTTL.Load()))
	wd.ping = zmtp.AppendPing(nil, wd.ttl, nil)
	now := time.Now()
	wd.seen, wd.since, wd.nextPing = wd.heard(), now, now.Add(wd.ivl)
	// Made stopped and published before it is armed: a run finds it (and
	// every field set above) through c.watchdog.
	wd.t = time.AfterFunc(time.Duration(math.MaxInt64), wd.check)
	c.watchdog.Store(wd)
	wd.t.Reset(max(wd.next(now, time.Duration(c.peerTTL.Load())).Sub(now), minHeartbeatTick))
	if p.closing.Load() { // closed meanwhile: stopHeartbeat may have missed it
		wd.t.Stop()
	}
}

// stopHeartbeat stops the pipe's watchdog, if it has one; the pipe is
// closing. (A tick already running sees the pipe closing and arms no
// other.)
func (p *Pipe) stopHeartbeat() {
	if c, ok := p.codec.(*zmtpCodec); ok {
		if wd := c.watchdog.Load(); wd != nil {
			wd.t.Stop()
		}
	}
}

// sendCommand sends a dialect command (a ZMTP PING or PONG): written at
// once on the calling goroutine when nothing else is being written
// (writeCommand), or else handed to the writer. If the writer already
// has commands waiting, b is dropped: the peer hears from us anyway.
func (p *Pipe) sendCommand(b []byte) {
	if p.writeCommand(b) {
		return
	}
	select {
	case p.ctrl <- b:
		p.sendq.commandQueued()
	default:
	}
}

// writeCommand writes b, a command, on the calling goroutine if it gets the
// write turn (nothing queued or being written), and reports whether it
// did; what the connection does not take at once is left to the writer,
// as after a write-through. An idle connection so answers and sends
// heartbeats with no writer goroutine.
func (p *Pipe) writeCommand(b []byte) bool {
	if p.tryWriter == nil || p.closing.Load() || !p.sendq.claim() {
		return false
	}
	p.cmdIov[0] = b
	n, err := p.tryWriter.TryWrite(p.cmdIov[:])
	p.cmdIov[0] = nil
	var left net.Buffers
	if err == nil && n < len(b) {
		left = net.Buffers{b[n:]} // b is the caller's, made for this write
	}
	if err == nil {
		left = p.leftAfterTry(left)
	}
	p.sendq.release(left, nil)
	if err != nil {
		p.closeForWrite(err)
	}
	return true
}
