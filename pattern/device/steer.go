package device

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"

	"github.com/mqwire/mqwire/socket"
)

// ProxySteerable is Proxy with a control socket, as libzmq's
// zmq_proxy_steerable: the control socket receives commands, each a
// message whose body is the command's name,
//
//   - PAUSE: stop passing messages (they wait in the sockets' queues; one a
//     direction had already taken waits in the proxy);
//   - RESUME: pass them again;
//   - TERMINATE: end the proxy, which returns nil;
//   - STATISTICS: answer with eight counts, each a 64-bit little-endian
//     number as libzmq sends them on its usual machines: the message parts
//     and the bytes the frontend received, then those it sent, then the
//     same two pairs for the backend. They are the body and seven frames
//     of one message; an SP peer, which has no frames, gets them as one
//     64-byte body. A message counts as sent from just before the proxy
//     sends it, so that a peer that has received it finds it counted (one
//     the socket then drops is taken off again), and as received once the
//     proxy has taken it from its socket.
//
// A control socket that is a REP (rep0) is answered after every command (an
// empty message, or the counts), as REP requires; any other (libzmq uses a
// PAIR) only after STATISTICS, if it can send. Other messages are ignored.
// The proxy also ends, as Proxy does, when ctx ends or a socket closes,
// the control socket included.
func ProxySteerable(ctx context.Context, frontend, backend, capture, control *socket.Socket) error {
	if control == nil {
		return Proxy(ctx, frontend, backend, capture)
	}
	return proxy(ctx, frontend, backend, capture, control)
}

// errTerminated ends a proxy's pumps on TERMINATE.
var errTerminated = errors.New("device: proxy terminated")

// traffic counts a side's message parts and bytes one way.
type traffic struct{ parts, bytes atomic.Uint64 }

func (t *traffic) add(parts, bytes uint64) {
	t.parts.Add(parts)
	t.bytes.Add(bytes)
}

// sub takes back what add counted.
func (t *traffic) sub(parts, bytes uint64) {
	t.parts.Add(-parts)
	t.bytes.Add(-bytes)
}

// steering is a proxy's pause state and counts. Its zero value is a proxy
// that is never paused (Proxy's).
type steering struct {
	front, back struct{ recv, sent traffic }

	// resumed is closed while the proxy is not paused; nil: never paused.
	// Only the control goroutine (pause) changes it.
	resumed atomic.Pointer[chan struct{}]
}

// waitResumed returns at once unless the proxy is paused, and then once it
// is resumed or ctx ends.
func (st *steering) waitResumed(ctx context.Context) error {
	resumed := st.resumed.Load()
	if resumed == nil {
		return nil
	}
	select {
	case <-*resumed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pause pauses the proxy or resumes it.
func (st *steering) pause(paused bool) {
	resumed := *st.resumed.Load()
	select {
	case <-resumed: // running
		if paused {
			ch := make(chan struct{})
			st.resumed.Store(&ch)
		}
	default: // paused
		if !paused {
			close(resumed)
		}
	}
}

// steer runs control's commands until TERMINATE, ctx's end or the
// socket's.
func (st *steering) steer(ctx context.Context, control *socket.Socket) error {
	isREP := control.Info().Name == "rep0"
	canSend := control.Info().CanSend
	for {
		m, err := control.RecvContext(ctx)
		if err != nil {
			return err
		}
		cmd := string(m.Body)
		m.Free()
		var reply *socket.Message
		switch cmd {
		case "PAUSE":
			st.pause(true)
		case "RESUME":
			st.pause(false)
		case "TERMINATE":
			if isREP {
				// The asker is answered before the proxy ends.
				control.SendContext(ctx, socket.NewMessage(0))
			}
			return errTerminated
		case "STATISTICS":
			reply = st.statistics()
		}
		if reply == nil && isREP {
			reply = socket.NewMessage(0)
		}
		if reply == nil || !canSend {
			continue
		}
		if err := control.SendContext(ctx, reply); err != nil {
			reply.Free()
			if ctx.Err() != nil || errors.Is(err, socket.ErrClosed) {
				return err
			}
		}
	}
}

// statistics is the STATISTICS answer: eight little-endian counts, the
// first in the body and the rest in frames.
func (st *steering) statistics() *socket.Message {
	counts := []*atomic.Uint64{
		&st.front.recv.parts, &st.front.recv.bytes, &st.front.sent.parts, &st.front.sent.bytes,
		&st.back.recv.parts, &st.back.recv.bytes, &st.back.sent.parts, &st.back.sent.bytes,
	}
	m := socket.NewMessage(8)
	binary.LittleEndian.PutUint64(m.Body, counts[0].Load())
	for _, c := range counts[1:] {
		m.Frames = append(m.Frames, binary.LittleEndian.AppendUint64(nil, c.Load()))
	}
	return m
}
