package socket

import (
	"fmt"
	"sync"
	"time"
)

// EventType says what happened to a connection.
type EventType int

// Connection events a program can watch with Socket.Events.
const (
	EventListening       EventType = iota + 1 // a listener is bound
	EventConnected                            // a dialed pipe finished its handshake
	EventAccepted                             // an accepted pipe finished its handshake
	EventDisconnected                         // a pipe closed; Err says why (nil on a clean close)
	EventHandshakeFailed                      // a connection failed its handshake; Err says why
	EventDialFailed                           // a dial attempt failed; the dialer retries
	EventPipeRejected                         // the pattern refused a new pipe (pair already connected)
)

// String names the event type ("connected", "disconnected", ...).
func (t EventType) String() string {
	switch t {
	case EventListening:
		return "listening"
	case EventConnected:
		return "connected"
	case EventAccepted:
		return "accepted"
	case EventDisconnected:
		return "disconnected"
	case EventHandshakeFailed:
		return "handshake failed"
	case EventDialFailed:
		return "dial failed"
	case EventPipeRejected:
		return "pipe rejected"
	}
	return fmt.Sprintf("event(%d)", int(t))
}

// Event is one connection event.
type Event struct {
	Type   EventType
	Time   time.Time
	URL    string // the dialer's or listener's URL
	Remote string // the peer's address, when known
	Pipe   PipeID // the pipe, when there is one
	Err    error  // the cause, for failures and disconnects
}

// String describes the event on one line, for logs.
func (e Event) String() string {
	s := fmt.Sprintf("%s %s", e.Type, e.URL)
	if e.Remote != "" {
		s += " peer " + e.Remote
	}
	if e.Pipe != 0 {
		s += fmt.Sprintf(" pipe %d", e.Pipe)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// eventHub fans events out to watchers. A watcher that does not keep up
// loses events (counted in missed) rather than slowing the socket.
type eventHub struct {
	mu       sync.Mutex
	watchers []chan Event
	closed   bool
	missed   uint64
}

func (h *eventHub) watch(buf int) <-chan Event {
	ch := make(chan Event, buf)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch
	}
	h.watchers = append(h.watchers, ch)
	return ch
}

func (h *eventHub) emit(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.watchers) == 0 {
		return
	}
	e.Time = time.Now()
	for _, w := range h.watchers {
		select {
		case w <- e:
		default:
			h.missed++
		}
	}
}

func (h *eventHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, w := range h.watchers {
		close(w)
	}
	h.watchers = nil
}
