package perfcmd

import (
	"sync/atomic"
	"time"
)

// PubIdle ends a pub run's receiving once nothing has arrived for this long
// after the first message. A publisher may drop what a subscriber has no
// room for (and an SP subscriber drops at its own end, as nng's does), so
// the count may never be reached: the receiving end then reports what it
// got and how many were lost.
const PubIdle = time.Second

// IdleStop watches a receiving loop: once messages have begun to arrive and
// none has for PubIdle, it calls stop, which closes the loop's socket so
// that its receive fails. Its methods do nothing on a nil *IdleStop, so a
// loop that needs no watch passes nil through the same code.
type IdleStop struct {
	got     atomic.Int64
	stopped atomic.Bool
	done    chan struct{}
	ended   chan struct{}
}

// WatchIdle starts the watch; End ends it.
func WatchIdle(stop func()) *IdleStop {
	w := &IdleStop{done: make(chan struct{}), ended: make(chan struct{})}
	go w.watch(stop)
	return w
}

func (w *IdleStop) watch(stop func()) {
	defer close(w.ended)
	tick := time.NewTicker(PubIdle / 4)
	defer tick.Stop()
	var seen int64
	quietSince := time.Now()
	for {
		select {
		case <-w.done:
			return
		case now := <-tick.C:
			got := w.got.Load()
			switch {
			case got != seen:
				seen, quietSince = got, now
			case got > 0 && now.Sub(quietSince) >= PubIdle:
				w.stopped.Store(true)
				stop()
				return
			}
		}
	}
}

// Got counts one message received.
func (w *IdleStop) Got() {
	if w != nil {
		w.got.Add(1)
	}
}

// Stopped reports whether the watch has closed the socket, so that a failed
// receive is the end of the run rather than an error.
func (w *IdleStop) Stopped() bool { return w != nil && w.stopped.Load() }

// End ends the watch and waits for its goroutine.
func (w *IdleStop) End() {
	if w != nil {
		close(w.done)
		<-w.ended
	}
}
