package socket

import (
	"encoding/binary"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// The envelope translation between ZeroMQ's REQ/REP and the SP patterns.
//
// A libzmq REQ sends an empty delimiter frame, then the body; a REP keeps
// every frame up to the delimiter (the envelope) and sends them back in front
// of the reply. SP carries the same information as header words. The ZMTP
// codec translates, so that rep and req never see frames:
//
//   - On a REP pipe the envelope frames become the message's Header, each as
//     a u32 big-endian length and its bytes. rep keeps the Header and puts it
//     back on the reply; the codec turns it into frames again.
//   - On a REQ pipe the codec writes an empty delimiter instead of the
//     request-id word, and remembers the id. libzmq's REP answers requests
//     in order, so each reply takes the oldest id back as its Header, and
//     req matches it as it matches an SP reply.

type envelope uint8

const (
	envelopeNone envelope = iota
	envelopeRep
	envelopeReq
)

// maxOutstanding bounds the request ids a REQ pipe remembers.
const maxOutstanding = 4096

// envelopes is the envelope state of a pipe whose REQ or REP faces a
// ZeroMQ peer: over ZMTP (in the codec), or over inproc facing a DEALER or
// ROUTER (in the pipe, inproc_envelope.go).
type envelopes struct {
	env     envelope
	ids     chan uint32 // REQ: ids of the requests sent, oldest first
	scratch []byte      // REP: the envelope encoding buffer
	// correlate: a REQ sends each request's id as an envelope frame and
	// reads it back from the reply, instead of keeping ids in order.
	correlate bool
}

// RequestCorrelator is implemented by a REQ protocol that can carry its
// request ids in the ZMTP envelope (req.Correlate).
type RequestCorrelator interface {
	CorrelateRequests() bool
}

// appendEnvelope writes the frames that go in front of m's body.
func (c *zmtpCodec) appendEnvelope(w *streamWriter, m *Message) {
	switch c.env {
	case envelopeReq:
		if c.correlate && len(m.Header) >= 4 {
			w.buf = zmtp.AppendFrameHeader(w.buf, zmtp.FlagMore, 4)
			w.buf = append(w.buf, m.Header[:4]...)
		} else if len(m.Header) >= 4 {
			select {
			case c.ids <- binary.BigEndian.Uint32(m.Header):
			default: // too many outstanding: that reply will count as late
			}
		}
		w.buf = zmtp.AppendFrameHeader(w.buf, zmtp.FlagMore, 0)
	case envelopeRep:
		h := m.Header
		for len(h) >= 4 {
			n := binary.BigEndian.Uint32(h)
			if uint64(n) > uint64(len(h)-4) {
				break
			}
			w.buf = zmtp.AppendFrameHeader(w.buf, zmtp.FlagMore, uint64(n))
			w.buf = append(w.buf, h[4:4+n]...)
			h = h[4+n:]
		}
	}
}

// open moves the envelope of a received message into its Header.
func (c *envelopes) open(m *Message) error {
	switch c.env {
	case envelopeRep:
		// Frames up to and including the first empty one.
		k := -1
		if len(m.Body) == 0 {
			k = 0
		} else {
			for i, f := range m.Frames {
				if len(f) == 0 {
					k = i + 1
					break
				}
			}
		}
		if k < 0 {
			return zmtpErr("request without an empty delimiter frame")
		}
		c.scratch = c.scratch[:0]
		for i := 0; i <= k; i++ {
			f := m.Body
			if i > 0 {
				f = m.Frames[i-1]
			}
			c.scratch = binary.BigEndian.AppendUint32(c.scratch, uint32(len(f)))
			c.scratch = append(c.scratch, f...)
		}
		body, rest := []byte(nil), m.Frames[min(k, len(m.Frames)):]
		if len(rest) > 0 {
			body, rest = rest[0], rest[1:]
		}
		first := m.Body
		m.Body, m.Frames = body, rest
		if len(m.Frames) == 0 {
			m.Frames = nil
		}
		m.setHeaderBefore(c.scratch, first)
	case envelopeReq:
		if c.correlate {
			// [id, "", body...]: the id back, as the Header.
			if len(m.Body) != 4 || len(m.Frames) < 2 || len(m.Frames[0]) != 0 {
				return zmtpErr("reply without its request id and an empty delimiter frame")
			}
			id := m.Body
			m.Body, m.Frames = m.Frames[1], m.Frames[2:]
			if len(m.Frames) == 0 {
				m.Frames = nil
			}
			m.setHeaderBefore(id, id)
			return nil
		}
		if len(m.Body) != 0 || len(m.Frames) == 0 {
			return zmtpErr("reply without an empty delimiter frame")
		}
		var id uint32
		select {
		case id = <-c.ids:
		default:
			return zmtpErr("reply with no request outstanding")
		}
		var word [4]byte
		binary.BigEndian.PutUint32(word[:], id)
		delimiter := m.Body
		m.Body, m.Frames = m.Frames[0], m.Frames[1:]
		if len(m.Frames) == 0 {
			m.Frames = nil
		}
		m.setHeaderBefore(word[:], delimiter)
	}
	return nil
}
