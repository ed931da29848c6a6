package device

import (
	"context"
	"errors"
	"fmt"

	"github.com/mqwire/mqwire/socket"
)

// Proxy passes messages between frontend and backend, as libzmq's zmq_proxy
// does, until ctx ends or one of its sockets (capture included) closes, and
// returns why it stopped (an error matching ctx.Err() or socket.ErrClosed).
// Messages go from frontend to backend if the one receives and the other
// sends, and back the other way if the backend receives and the frontend
// sends; each direction on its own goroutine, so that one waiting for room
// (a DEALER with no worker connected) does not hold the other. The usual
// pairs:
//
//   - a ROUTER frontend and a DEALER backend: a broker between REQ or
//     DEALER clients and REP or DEALER workers (the envelope travels in
//     the message's frames);
//   - an XSUB frontend and an XPUB backend: a forwarder, publications down
//     and subscriptions up;
//   - a PULL frontend and a PUSH backend: a streamer.
//
// If capture is not nil, it is sent a copy of every message passed, in
// either direction, before the message itself (a PUB, which never waits,
// or a PUSH, which does, and then holds the proxy). A message the
// receiving side refuses without closing (socket.ErrNoPeer from a
// RouterMandatory ROUTER whose client has gone, socket.ErrTimeout under a
// SendTimeout) is dropped and the proxy goes on, where libzmq's proxy
// would stop. Such a drop is counted nowhere; a ROUTER without
// RouterMandatory drops messages for gone peers itself and counts them
// (socket.DropNoPeer).
//
// Sockets that keep the state of each request (cooked req0, rep0,
// surveyor0 and respondent0, in either dialect) cannot sit in a proxy and
// are refused: use ROUTER and DEALER, or their raw forms (or Forward).
func Proxy(ctx context.Context, frontend, backend, capture *socket.Socket) error {
	return proxy(ctx, frontend, backend, capture, nil)
}

// proxy is Proxy, steered by control when it is not nil (steer.go).
func proxy(ctx context.Context, frontend, backend, capture, control *socket.Socket) error {
	if frontend == backend {
		return fmt.Errorf("%w: a proxy between a socket and itself (Forward reflects)", socket.ErrNotSupported)
	}
	for _, s := range []*socket.Socket{frontend, backend} {
		if err := checkProxied(s.Info()); err != nil {
			return err
		}
	}
	fi, bi := frontend.Info(), backend.Info()
	down, up := fi.CanRecv && bi.CanSend, bi.CanRecv && fi.CanSend
	if !down && !up {
		return fmt.Errorf("%w: nothing to pass between %s and %s", socket.ErrNotSupported, fi.Name, bi.Name)
	}
	if capture != nil && !capture.Info().CanSend {
		return fmt.Errorf("%w: a %s capture socket cannot send", socket.ErrNotSupported, capture.Info().Name)
	}
	st := &steering{}
	var pumps []func(context.Context) error
	if down {
		pumps = append(pumps, func(ctx context.Context) error {
			return proxyPump(ctx, frontend, backend, capture, st, &st.front.recv, &st.back.sent)
		})
	}
	if up {
		pumps = append(pumps, func(ctx context.Context) error {
			return proxyPump(ctx, backend, frontend, capture, st, &st.back.recv, &st.front.sent)
		})
	}
	if control == nil {
		return runPumps(ctx, pumps)
	}
	if !control.Info().CanRecv {
		return fmt.Errorf("%w: a %s control socket cannot receive", socket.ErrNotSupported, control.Info().Name)
	}
	running := make(chan struct{})
	close(running) // not paused
	st.resumed.Store(&running)
	pumps = append(pumps, func(ctx context.Context) error { return st.steer(ctx, control) })
	if err := runPumps(ctx, pumps); err != errTerminated {
		return err
	}
	return nil
}

// checkProxied refuses a socket whose pattern keeps each request's state:
// it would lose the envelope or wait for a reply that the proxy passes on.
func checkProxied(info socket.ProtocolInfo) error {
	if info.Raw {
		return nil
	}
	switch info.Name {
	case "req0", "rep0", "surveyor0", "respondent0":
		return fmt.Errorf("%w: a cooked %s socket keeps each request's state; proxy with ROUTER and DEALER or raw sockets", socket.ErrNotSupported, info.Name)
	}
	return nil
}

// proxyPump passes what from receives to to, with a copy to capture first
// if it is set, until ctx ends or a socket closes; it counts what it
// receives and sends, and holds a message it has received while the proxy
// is paused.
func proxyPump(ctx context.Context, from, to, capture *socket.Socket, st *steering, recvd, sent *traffic) error {
	for {
		m, err := from.RecvContext(ctx)
		if err != nil {
			return err
		}
		parts, size := uint64(1+len(m.Frames)), uint64(m.Len())
		recvd.add(parts, size)
		if err := st.waitResumed(ctx); err != nil {
			m.Free()
			return err
		}
		if capture != nil {
			if _, err := sendOrDrop(ctx, capture, m.Clone()); err != nil {
				m.Free()
				return err
			}
		}
		// Counted before the send, so that whoever has received the
		// message finds it counted (an inproc receiver can have it before
		// Send returns here); taken off again if it did not go.
		sent.add(parts, size)
		if ok, err := sendOrDrop(ctx, to, m); !ok {
			sent.sub(parts, size)
			if err != nil {
				return err
			}
		}
	}
}

// sendOrDrop sends m on s and reports whether it went; a message s refuses
// without closing is dropped (freed), and only the end of ctx or of the
// socket is returned.
func sendOrDrop(ctx context.Context, s *socket.Socket, m *socket.Message) (bool, error) {
	err := s.SendContext(ctx, m)
	if err == nil {
		return true, nil
	}
	m.Free()
	if ctx.Err() != nil || errors.Is(err, socket.ErrClosed) {
		return false, err
	}
	return false, nil
}
