package socket

import (
	"encoding/binary"
	"iter"
)

// Subscriptions told in a batch. A subscriber tells each new ZeroMQ
// publisher every topic it subscribes to, past the pipe's high-water mark
// (the publisher filters by them). As one message each, a million topics
// waited in the queue at about 270 bytes apiece; packed into
// ControlSubscribeMany messages they cost their length and four bytes.

// subscribeBatchBytes bounds the topics packed into one message; encoded
// as ZMTP commands (at most three times the packed size, for empty
// topics) a batch fits in a stream writer's buffer.
const subscribeBatchBytes = 16<<10 - headroom

// TellSubscriptions queues topics on p to subscribe to, past its
// high-water mark if need be (OfferAlways), packed many to a message
// (ControlSubscribeMany); a topic too long for a batch goes alone, as a
// ControlSubscribe message.
func (p *Pipe) TellSubscriptions(topics iter.Seq[string]) {
	var batch []byte
	flush := func() {
		if len(batch) == 0 {
			return
		}
		m := NewMessageBytes(batch)
		m.Control = ControlSubscribeMany
		p.OfferAlways(m)
		batch = batch[:0]
	}
	for t := range topics {
		if 4+len(t) > subscribeBatchBytes {
			flush()
			m := NewMessageBytes([]byte(t))
			m.Control = ControlSubscribe
			p.OfferAlways(m)
			continue
		}
		if len(batch)+4+len(t) > subscribeBatchBytes {
			flush()
		}
		if batch == nil {
			batch = make([]byte, 0, subscribeBatchBytes)
		}
		batch = binary.BigEndian.AppendUint32(batch, uint32(len(t)))
		batch = append(batch, t...)
	}
	flush()
}

// Topics yields the topics of a subscription change: Body for
// ControlSubscribe and ControlCancel, each packed topic for
// ControlSubscribeMany (a length that overruns the body ends them).
func (m *Message) Topics() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if m.Control != ControlSubscribeMany {
			yield(m.Body)
			return
		}
		for b := m.Body; len(b) >= 4; {
			n := binary.BigEndian.Uint32(b)
			if uint64(n) > uint64(len(b)-4) {
				return
			}
			if !yield(b[4 : 4+n]) {
				return
			}
			b = b[4+n:]
		}
	}
}

// Subscribes reports whether m subscribes (ControlSubscribe or
// ControlSubscribeMany) rather than cancels.
func (m *Message) Subscribes() bool {
	return m.Control == ControlSubscribe || m.Control == ControlSubscribeMany
}
