// Command zmq4perf is the go-zeromq/zmq4 (v0.17.0) perf end of
// bench/perfpeer: libzmq's perf roles, argument order and output lines, so
// that its figures compare with mqperf's and pair with any ZMTP end:
//
//	zmq4perf [-pattern P] local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>
//	zmq4perf [-pattern P] inproc_thr|inproc_lat <size> <count>
//
// -pattern is push (PUSH/PULL, the default), pair (PAIR) or pub (SUB
// receiving only, see below) for throughput, reqrep (REQ/REP, the default)
// or pair for latency. Transports: ipc and tcp (not inproc, see below).
//
// zmq4's Send writes to the connection before it returns (except REP's and
// PUB's, see below), so a sender can close as soon as its last Send is done;
// its Dial waits for the connection and is retried here until the listener
// is there. Its REP queues replies for a writer goroutine that Close does not
// flush, so local_lat waits 100 ms after its last reply before closing.
//
// What is left out, and why:
//   - remote_thr with -pattern pub: zmq4's PUB queues messages for a writer
//     goroutine that Close does not flush, and nothing tells when the queue
//     is empty, so the sender could not be sure everything went out. Its SUB
//     (local_thr -pattern pub) works.
//   - inproc (the inproc_* roles): with zmq4's inproc transport, push/pull
//     and pair latency fail with EOF at once and req/rep hangs (only pair
//     throughput got through), so the command refuses inproc.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/mqwire/mqwire/bench/internal/perfcmd"
)

func main() {
	perfcmd.Main(perfcmd.Ends{
		Name:       "zmq4perf",
		Transports: []string{"ipc", "tcp"},
		LocalThr:   localThr,
		RemoteThr:  remoteThr,
		LocalLat:   localLat,
		RemoteLat:  remoteLat,
	})
}

var errPubSend = errors.New("zmq4's PUB cannot say when its queue is sent (Close does not flush it): remote_thr -pattern pub is not supported")

func newSocket(pattern string, sending bool) (zmq4.Socket, error) {
	// Dial retries every 20 ms for up to 10 s while the listener is not
	// there yet.
	opts := []zmq4.Option{zmq4.WithDialerRetry(20 * time.Millisecond), zmq4.WithDialerMaxRetries(500)}
	ctx := context.Background()
	switch {
	case pattern == "push" && sending:
		return zmq4.NewPush(ctx, opts...), nil
	case pattern == "push":
		return zmq4.NewPull(ctx, opts...), nil
	case pattern == "pub" && sending:
		return nil, errPubSend
	case pattern == "pub":
		s := zmq4.NewSub(ctx, opts...)
		if err := s.SetOption(zmq4.OptionSubscribe, ""); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	case pattern == "pair":
		return zmq4.NewPair(ctx, opts...), nil
	case sending:
		return zmq4.NewReq(ctx, opts...), nil
	default:
		return zmq4.NewRep(ctx, opts...), nil
	}
}

func listen(pattern string, url string, ready func()) (zmq4.Socket, error) {
	s, err := newSocket(pattern, false)
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

func dial(pattern, url string) (zmq4.Socket, error) {
	s, err := newSocket(pattern, true)
	if err != nil {
		return nil, err
	}
	if err := s.Dial(url); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func recvOne(s zmq4.Socket, size int) (zmq4.Msg, error) {
	m, err := s.Recv()
	if err != nil {
		return m, err
	}
	if len(m.Frames) != 1 || len(m.Frames[0]) != size {
		n := 0
		for _, f := range m.Frames {
			n += len(f)
		}
		return m, fmt.Errorf("message of %d frames, %d bytes; want one of %d", len(m.Frames), n, size)
	}
	return m, nil
}

func localThr(url, pattern string, size, count int, ready func()) (int, time.Duration, error) {
	s, err := listen(pattern, url, ready)
	if err != nil {
		return 0, 0, err
	}
	var w *perfcmd.IdleStop // a pub run may lose messages: it ends when they stop
	if pattern == "pub" {
		w = perfcmd.WatchIdle(func() { s.Close() })
	}
	defer func() {
		if !w.Stopped() {
			s.Close()
		}
	}()
	defer w.End()
	var start, last time.Time
	n := 0
	for ; n < count; n++ {
		if _, err := recvOne(s, size); err != nil {
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
	}
	return n, time.Since(start), nil
}

func remoteThr(url, pattern string, size, count int) error {
	s, err := dial(pattern, url)
	if err != nil {
		return err
	}
	defer s.Close()
	// zmq4 writes a message's bytes before Send returns and does not keep
	// the message, so one buffer serves every send.
	m := zmq4.NewMsg(make([]byte, size))
	for range count {
		if err := s.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func localLat(url, pattern string, size, count int, ready func()) error {
	s, err := listen(pattern, url, ready)
	if err != nil {
		return err
	}
	defer s.Close()
	for range count {
		m, err := recvOne(s, size)
		if err != nil {
			return err
		}
		if err := s.Send(m); err != nil {
			return err
		}
	}
	if pattern == "reqrep" {
		// zmq4's REP hands each reply to a writer goroutine and returns;
		// Close does not wait for that goroutine's write (and the other
		// end's going away does not end a pending Recv, so it cannot be
		// waited for either). The last reply is already with the writer,
		// which needs only to write it: give it a moment.
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func remoteLat(url, pattern string, size, count int) (time.Duration, error) {
	s, err := dial(pattern, url)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	m := zmq4.NewMsg(make([]byte, size))
	start := time.Now()
	for range count {
		if err := s.Send(m); err != nil {
			return 0, err
		}
		if m, err = recvOne(s, size); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
