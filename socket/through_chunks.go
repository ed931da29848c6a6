package socket

import (
	"context"
	"time"
)

// Reading through a pipe that reads in chunks (pull, pair, sub). The
// application that holds the read turn parses the chunk and queues what
// it holds, as the reader goroutine would, then takes the first message
// from the queue as any Recv does. A stream of small messages so stays on
// one core: the reader goroutine, on another, would put each message on
// the queue for this one to take, and with two busy goroutines in each of
// two processes on two cores, the threads take turns on the cores (64 B
// push/pull over shm moved 7.1-7.7 M msg/s with the receiving process at
// GOMAXPROCS=1, against 6.1-6.3 M with the default).

// readChunksAsApp is readAsApp for a pipe that reads in chunks: it parses
// what the chunk holds and reads more into it, holding the read turn,
// until ready reports true or ctx ends. It never queues more than the
// queue has room for (it is the queue's consumer, and must not wait for
// room): what it parsed beyond that waits in p.chunks for the next turn.
func (p *Pipe) readChunksAsApp(ctx context.Context, ready func() bool) error {
	cp := p.chunks
	p.touched.Store(true)
	p.watchCancel(ctx)
	for {
		if p.closing.Load() { // closed, perhaps by the pattern
			p.giveBack()
			return nil
		}
		for room := cp.q.free(p); room > len(cp.spans); room = cp.q.free(p) {
			stop, err := cp.parse(p, room)
			if err == nil && stop == parsedLarge {
				switch {
				case ctx.Done() == nil:
					p.conn.SetReadDeadline(time.Time{})
					err = cp.readLarge(p)
				default:
					// Read here until ctx ends; what is read by then
					// goes to the reader goroutine to finish
					// (readLargeAsApp does the same for other pipes).
					cp.r.start += cp.largeHN
					b := laterBody(int(cp.largeSize))
					b.loans = loanConn(p.conn)
					dl, _ := ctx.Deadline()
					if m := b.takeLoan(dl, cp.r.end-cp.r.start); m != nil {
						largeAppReads.Add(1)
						cp.addLarge(p, m)
						break
					}
					b.begin()
					whole, ended, rerr := p.readBodyAsApp(ctx, &b, cp.r)
					if !whole && rerr == nil {
						cp.large = b
						cp.deliver(p, true)
						p.giveBack()
						if ended {
							return ctxErr(ctx)
						}
						return nil
					}
					if err = rerr; whole {
						largeAppReads.Add(1)
						cp.addLarge(p, b.done())
					}
				}
			}
			if err != nil {
				cp.deliver(p, true)
				p.closeForRead(err)
				p.giveBack()
				return nil
			}
			cp.deliver(p, true)
			if stop == parsedFrame {
				// The codec reads from here on: the reader goroutine
				// switches to it.
				p.giveBack()
				return nil
			}
			if stop == parsedAll {
				break
			}
		}
		if cp.lossy && cp.q.preferNew.Load() && cp.q.free(p) == 0 {
			// The application is behind a pipe whose overflow drops the
			// oldest (sub.PreferNew): the reader goroutine reads on, as
			// nng's does, so that the newest messages are the ones that
			// wait, rather than the connection backing up to the
			// publisher, which would drop the newest.
			p.giveBack()
			return nil
		}
		if more, err := p.readMoreAsApp(ctx, ready, func() error { return p.fillSpinning(cp.fill, len(cp.r.unparsed()) == 0) }); !more {
			return err
		}
	}
}
