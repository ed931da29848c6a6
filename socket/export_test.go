package socket

import (
	"net"
	"runtime"
	"time"
)

// ReadsThrough reports whether an application holds the read turn of s's
// only pipe (through.go).
func ReadsThrough(s *Socket) bool {
	p := s.solo.Load()
	if p == nil {
		return false
	}
	st := p.rstate.Load()
	return st == rsApp || st == rsAway
}

// WritesThrough reports how many messages the application wrote through
// on s's only pipe, a tcp or ipc one (through_write.go).
func WritesThrough(s *Socket) uint64 {
	p := s.solo.Load()
	if p == nil {
		return 0
	}
	return p.throughs.Load()
}

// StreamConn returns the connection of one of s's pipes (nil if it has
// none on a stream transport).
func StreamConn(s *Socket) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pipes {
		if p.conn != nil {
			return p.conn
		}
	}
	return nil
}

// SelfFlushes reports how many batches the application wrote from its own
// full send queue on s's only pipe (Pipe.flushFull).
func SelfFlushes(s *Socket) int {
	p := s.solo.Load()
	if p == nil {
		return 0
	}
	p.sendq.mu.Lock()
	defer p.sendq.mu.Unlock()
	return p.sendq.selfFlushes
}

// SetTailDelay sets tailDelay (sendqueue.go) for a test, which restores it
// with the function returned; no socket may be open meanwhile.
func SetTailDelay(d time.Duration) (restore func()) {
	old := tailDelayNs.Swap(int64(d))
	return func() { tailDelayNs.Store(old) }
}

// SetThroughBurstGap sets throughBurstGap (through_write.go) for a test,
// which restores it with the function returned.
func SetThroughBurstGap(d time.Duration) (restore func()) {
	old := throughBurstGap.Swap(int64(d))
	return func() { throughBurstGap.Store(old) }
}

// SetWriterIdle sets writerIdle (sendqueue.go) for a test, which restores
// it with the function returned.
func SetWriterIdle(d time.Duration) (restore func()) {
	old := writerIdleNs.Swap(int64(d))
	return func() { writerIdleNs.Store(old) }
}

// ReadsChunks reports whether s's only pipe reads in chunks, not having
// left that for the codec (chunk.go).
func ReadsChunks(s *Socket) bool {
	p := s.solo.Load()
	return p != nil && p.readsChunks() && !p.unchunked.Load()
}

// HandedOver returns how many messages s's pipes handed straight to their
// inproc peers' patterns (Pipe.handOverInproc), pipes open now only.
func HandedOver(s *Socket) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, p := range s.pipes {
		msgs, _ := p.cnt.handed.load()
		n += msgs
	}
	return n
}

// InprocQueued returns how many messages inproc senders have queued for s's
// pipes that the pipes' readers have not delivered (Socket.inprocQueued).
func InprocQueued(s *Socket) int64 { return s.inprocQueued.Load() }

// RecvRingSize returns the number of slots of s's receive queue's ring
// (0 if its pattern has none).
func RecvRingSize(s *Socket) int {
	qd, ok := s.proto.(QueueDeliverer)
	if !ok {
		return 0
	}
	q := qd.DeliveryQueue()
	q.cmu.Lock()
	defer q.cmu.Unlock()
	return len(q.slots)
}

// SetShrinkAfter sets how long a grown receive ring waits to shrink.
func SetShrinkAfter(d time.Duration) (restore func()) {
	old := shrinkAfter
	shrinkAfter = d
	return func() { shrinkAfter = old }
}

// UpfrontInUse is how much of the upfront budget large bodies being read
// hold (stream.go).
func UpfrontInUse() int64 { return upfront.Load() }

// LargeHandOvers counts the large bodies applications reading through
// handed to reader goroutines unfinished (through.go).
func LargeHandOvers() int64 { return largeHandOvers.Load() }

// LargeAppReads counts the large messages applications reading through
// with a context that can end read whole themselves.
func LargeAppReads() int64 { return largeAppReads.Load() }

// ZMTPFramesSeen reports how many frames, commands included, s's only pipe
// has read, if it speaks ZMTP (heartbeat.go's measure of life).
func ZMTPFramesSeen(s *Socket) uint64 {
	if p := s.solo.Load(); p != nil {
		if c, ok := p.codec.(*zmtpCodec); ok {
			return c.seen.Load()
		}
	}
	return 0
}

// SpinState reports how long the next wait of an application reading s's
// only pipe through would spin (through_spin.go), whether its last read
// parked, and how many polling reads its pipe has made; false when that
// pipe cannot spin (or s has none).
func SpinState(s *Socket) (budget time.Duration, parked bool, polls int, ok bool) {
	p := s.solo.Load()
	if p == nil || p.spinner == nil {
		return 0, false, 0, false
	}
	return time.Duration(min(p.spinBudget, s.cfg.recvSpin.Load())), p.spinner.parkedAt != 0, p.spinner.polls, true
}

// CanSpin reports whether tcp pipes spin here at all (Linux, GOMAXPROCS 2
// or more).
func CanSpin() bool { return runtime.GOOS == "linux" && runtime.GOMAXPROCS(0) > 1 }

// SpinSameProcess lets tcp pipes spin with a peer in this process until the
// test ends (RecvSpin's tests run both ends in one process).
func SpinSameProcess(t interface{ Cleanup(func()) }) {
	spinSameProcess.Store(true)
	t.Cleanup(func() { spinSameProcess.Store(false) })
}
