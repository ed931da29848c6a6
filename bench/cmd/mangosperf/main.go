// Command mangosperf is the mangos (go.nanomsg.org/mangos/v3) perf end of
// bench/perfpeer: libzmq's perf roles, argument order and output lines, so
// that its figures compare with mqperf's and pair with any SP end:
//
//	mangosperf [-pattern P] local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>
//	mangosperf [-pattern P] inproc_thr|inproc_lat <size> <count>
//
// -pattern is push (push/pull, the default), pair (pair0) or pub (pub/sub,
// empty subscription) for throughput, reqrep (req/rep, the default) or pair
// for latency. Transports: inproc, ipc, tcp. Sockets keep mangos' defaults
// except pub's write and sub's read queues, raised to 1000 messages
// (libzmq's high-water mark) because mangos drops beyond them.
//
// mangos has no linger (Close drops what is still queued), so a sending end
// waits after its last message until the other end has closed the
// connection, which it does once it has everything (at most 10 s). It
// waits for a connection first: push and pair queue 128 messages (their
// default write queue) with no peer, so a short run could otherwise queue
// everything, find no pipe yet (the dial is asynchronous and retries only
// after 100 ms) and close, dropping the lot while the receiver waits.
package main

import (
	"errors"
	"sync"
	"time"

	"github.com/mqwire/mqwire/bench/internal/perfcmd"
	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/pair"
	"go.nanomsg.org/mangos/v3/protocol/pub"
	"go.nanomsg.org/mangos/v3/protocol/pull"
	"go.nanomsg.org/mangos/v3/protocol/push"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	"go.nanomsg.org/mangos/v3/protocol/req"
	"go.nanomsg.org/mangos/v3/protocol/sub"
	_ "go.nanomsg.org/mangos/v3/transport/inproc"
	_ "go.nanomsg.org/mangos/v3/transport/ipc"
	_ "go.nanomsg.org/mangos/v3/transport/tcp"
)

func main() {
	perfcmd.Main(perfcmd.Ends{
		Name:       "mangosperf",
		Transports: []string{"inproc", "ipc", "tcp"},
		LocalThr:   localThr,
		RemoteThr:  remoteThr,
		LocalLat:   localLat,
		RemoteLat:  remoteLat,
	})
}

// sock is a mangos socket and a count of its connected pipes.
type sock struct {
	mangos.Socket
	mu       sync.Mutex
	cond     *sync.Cond
	pipes    int // connected now
	attached int // ever connected
}

func newSock(pattern string, sending bool) (*sock, error) {
	var s mangos.Socket
	var err error
	switch {
	case pattern == "push" && sending:
		s, err = push.NewSocket()
	case pattern == "push":
		s, err = pull.NewSocket()
	case pattern == "pub" && sending:
		if s, err = pub.NewSocket(); err == nil {
			err = s.SetOption(mangos.OptionWriteQLen, 1000)
		}
	case pattern == "pub":
		if s, err = sub.NewSocket(); err == nil {
			err = errors.Join(s.SetOption(mangos.OptionSubscribe, []byte{}), s.SetOption(mangos.OptionReadQLen, 1000))
		}
	case pattern == "pair":
		s, err = pair.NewSocket()
	case sending:
		s, err = req.NewSocket()
	default:
		s, err = rep.NewSocket()
	}
	if err != nil {
		return nil, err
	}
	// No receive limit, as libzmq's default: mangos's 1 MiB default
	// counts the protocol header, so 1 MiB requests would be refused.
	if err := s.SetOption(mangos.OptionMaxRecvSize, 0); err != nil {
		return nil, err
	}
	ms := &sock{Socket: s}
	ms.cond = sync.NewCond(&ms.mu)
	s.SetPipeEventHook(func(ev mangos.PipeEvent, _ mangos.Pipe) {
		ms.mu.Lock()
		switch ev {
		case mangos.PipeEventAttached:
			ms.pipes++
			ms.attached++
		case mangos.PipeEventDetached:
			ms.pipes--
		}
		ms.cond.Broadcast()
		ms.mu.Unlock()
	})
	return ms, nil
}

// waitPipes waits until s has a pipe (connected) or, once it has had one,
// has none left (!connected), for at most d. The latter is how a sender
// without linger knows its receiver has everything: it must not take "no
// pipe yet" for "the receiver has gone".
func (s *sock) waitPipes(connected bool, d time.Duration) {
	timedOut := false
	t := time.AfterFunc(d, func() {
		s.mu.Lock()
		timedOut = true
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer t.Stop()
	done := func() bool {
		if connected {
			return s.pipes > 0
		}
		return s.attached > 0 && s.pipes <= 0
	}
	s.mu.Lock()
	for !timedOut && !done() {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

func listen(pattern string, sending bool, url string, ready func()) (*sock, error) {
	s, err := newSock(pattern, sending)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(url); err != nil {
		s.Close()
		return nil, err
	}
	if ready != nil {
		ready()
	}
	return s, nil
}

// dial connects in the background: mangos retries until the listener is
// there.
func dial(pattern, url string) (*sock, error) {
	s, err := newSock(pattern, true)
	if err != nil {
		return nil, err
	}
	if err := s.DialOptions(url, map[string]any{mangos.OptionDialAsynch: true}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func recvOne(s *sock, size int) (*mangos.Message, error) {
	m, err := s.RecvMsg()
	if err != nil {
		return nil, err
	}
	if len(m.Body) != size {
		return nil, perfcmd.SizeError(len(m.Body), size)
	}
	return m, nil
}

func localThr(url, pattern string, size, count int, ready func()) (int, time.Duration, error) {
	s, err := listen(pattern, false, url, ready)
	if err != nil {
		return 0, 0, err
	}
	var w *perfcmd.IdleStop // a pub run may lose messages: it ends when they stop
	if pattern == "pub" {
		w = perfcmd.WatchIdle(func() { s.Close() })
	}
	defer s.Close()
	defer w.End()
	var start, last time.Time
	n := 0
	for ; n < count; n++ {
		m, err := recvOne(s, size)
		if err != nil {
			if w.Stopped() {
				return n, last.Sub(start), nil
			}
			return 0, 0, err
		}
		if n == 0 {
			start = time.Now()
		}
		if w != nil {
			w.Got()
			last = time.Now()
		}
		m.Free()
	}
	return n, time.Since(start), nil
}

func remoteThr(url, pattern string, size, count int) error {
	s, err := dial(pattern, url)
	if err != nil {
		return err
	}
	defer s.Close()
	if pattern == "pub" {
		// pub drops while nobody listens: wait for the subscriber.
		s.waitPipes(true, 10*time.Second)
		time.Sleep(500 * time.Millisecond)
	}
	for range count {
		m := mangos.NewMessage(size)
		m.Body = m.Body[:size]
		if err := s.SendMsg(m); err != nil {
			return err
		}
	}
	s.waitPipes(false, 10*time.Second) // no linger: wait for the receiver to go
	return nil
}

func localLat(url, pattern string, size, count int, ready func()) error {
	s, err := listen(pattern, false, url, ready)
	if err != nil {
		return err
	}
	defer s.Close()
	for range count {
		m, err := recvOne(s, size)
		if err != nil {
			return err
		}
		if err := s.SendMsg(m); err != nil {
			return err
		}
	}
	s.waitPipes(false, 10*time.Second) // the last reply must get out first
	return nil
}

func remoteLat(url, pattern string, size, count int) (time.Duration, error) {
	s, err := dial(pattern, url)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	// The clock starts once connected: a dial that waits out a retry
	// would count in the latency.
	s.waitPipes(true, 10*time.Second)
	m := mangos.NewMessage(size)
	m.Body = m.Body[:size]
	start := time.Now()
	for range count {
		if err := s.SendMsg(m); err != nil {
			return 0, err
		}
		if m, err = recvOne(s, size); err != nil {
			return 0, err
		}
	}
	d := time.Since(start)
	m.Free()
	return d, nil
}
