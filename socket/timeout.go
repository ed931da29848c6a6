package socket

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// A send or receive timeout becomes a deadline on the call's context.
// context.WithTimeout costs about ten allocations per call, and a waiting
// read through a pipe then watches the context with context.AfterFunc,
// four more: a REQ socket with ZMQ_RCVTIMEO-style timeouts made 25 per
// round trip. When the caller's context can never be cancelled (the
// common case: Send and Recv use context.Background), the timeout needs
// no parent to watch, and a pooled deadlineCtx does the job without
// allocating.

// deadlineCtx is a context that ends at its deadline and only then: Done is
// closed by its timer. It is pooled; a call holds it from withTimeout to
// Wait.End, and nothing keeps it past that (a pipe does not watch it:
// readMoreAsApp's read deadline covers it, see watchCancel).
type deadlineCtx struct {
	parent   context.Context // for Value; its Done is nil
	deadline time.Time
	done     chan struct{}
	expired  atomic.Bool
	timer    *time.Timer // runs expire; stopped while pooled
}

var deadlineCtxs = sync.Pool{New: func() any {
	c := &deadlineCtx{done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, c.expire)
	c.timer.Stop()
	return c
}}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *deadlineCtx) Done() <-chan struct{}       { return c.done }

func (c *deadlineCtx) Value(key any) any {
	if p := c.parent; p != nil { // nil once released
		return p.Value(key)
	}
	return nil
}

func (c *deadlineCtx) Err() error {
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

// expire runs on the timer's goroutine when the deadline passes.
func (c *deadlineCtx) expire() {
	c.expired.Store(true)
	close(c.done)
}

// A Wait is a socket timeout applied to one call's context
// (Socket.WithSendTimeout, Socket.WithRecvTimeout). Call End when the call
// returns; the context must not be used after that.
type Wait struct {
	dc     *deadlineCtx
	cancel context.CancelFunc
}

// End releases what the timeout held: its timer, and its context for reuse.
func (w Wait) End() {
	switch {
	case w.dc != nil:
		if w.dc.timer.Stop() {
			// The timer had not fired, so expire will never run: the
			// context is as it was made, and nobody else holds it.
			w.dc.parent = nil
			deadlineCtxs.Put(w.dc)
		} // else expire ran or runs: let the context go
	case w.cancel != nil:
		w.cancel()
	}
}

// withTimeout returns ctx ending after d at the latest, and the Wait to end
// when the call returns.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, Wait) {
	if ctx.Done() != nil { // cancellable: its cancellation must reach the waits
		ctx, cancel := context.WithTimeout(ctx, d)
		return ctx, Wait{cancel: cancel}
	}
	c := deadlineCtxs.Get().(*deadlineCtx)
	c.parent = ctx
	c.deadline = time.Now().Add(d)
	c.timer.Reset(d)
	return c, Wait{dc: c}
}

// deadlineOnly reports whether ctx ends at its deadline and never earlier,
// so that a read deadline stands for it.
func deadlineOnly(ctx context.Context) bool {
	_, ok := ctx.(*deadlineCtx)
	return ok
}
