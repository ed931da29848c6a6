package socket

import (
	"encoding/binary"
	"sync"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// Envelopes over inproc. REQ and REP, which also speak SP, pair over
// inproc with ROUTER and DEALER, which do not, as they do over ZMTP. Over
// inproc a REQ or REP sends as to an SP peer (its header words in front of
// the body) and receives as from a ZMTP peer (the envelope already in its
// Header), so the translation is done by the pipe that takes a message
// from its peer's queue, on its reader goroutine, in queue order:
//
//   - A ROUTER's pipe from a REQ takes the request id off the body, keeps
//     it for the reply, and puts the empty delimiter frame in its place.
//   - A DEALER's pipe from a REP turns the envelope words in front of the
//     body back into frames.
//   - A REQ's pipe from a ROUTER, and a REP's from a DEALER, open the
//     envelope as the ZMTP codec does (envelope.go).
//
// Senders do not hand such messages straight to the peer's pattern
// (handOverInproc), so that every message is translated, in order.

// inprocEnv is the translation a pipe applies to what it takes from its
// inproc peer.
type inprocEnv uint8

const (
	inprocEnvNone inprocEnv = iota
	inprocFromReq           // ROUTER side: SP request id -> delimiter frame
	inprocFromRep           // DEALER side: SP-form envelope -> frames
	inprocToReq             // REQ side: delimiter -> the request's id
	inprocToRep             // REP side: frames up to the delimiter -> Header
)

// idQueue carries request ids from the ROUTER side of an inproc REQ
// connection, which records them as it takes requests, to the REQ side,
// which gives each reply the oldest. A REQ end offers one to every inproc
// peer; only a ROUTER uses it.
type idQueue struct {
	once sync.Once
	ch   chan uint32
	// correlate: the REQ correlates (RequestCorrelator), so the id goes
	// as an envelope frame and comes back in the reply; the queue is unused.
	correlate bool
}

func (q *idQueue) get() chan uint32 {
	q.once.Do(func() { q.ch = make(chan uint32, maxOutstanding) })
	return q.ch
}

// setInprocEnvelope chooses the pipe's translation once the ends have
// exchanged their PortInfo; local is what this end sent.
func (p *Pipe) setInprocEnvelope(local, peer PortInfo) {
	switch {
	case local.ZMTPType == zmtp.TypeROUTER && peer.Proto != 0 && peer.ZMTPType == zmtp.TypeREQ:
		p.inEnv, p.reqIDs = inprocFromReq, peer.reqIDs
	case local.ZMTPType == zmtp.TypeDEALER && peer.Proto != 0 && peer.ZMTPType == zmtp.TypeREP:
		p.inEnv = inprocFromRep
	case local.Proto != 0 && local.ZMTPType == zmtp.TypeREQ && peer.Proto == 0:
		p.inEnv = inprocToReq
		p.env = &envelopes{env: envelopeReq, correlate: local.reqIDs.correlate}
		if !p.env.correlate {
			p.env.ids = local.reqIDs.get()
		}
	case local.Proto != 0 && local.ZMTPType == zmtp.TypeREP && peer.Proto == 0:
		p.inEnv = inprocToRep
		p.env = &envelopes{env: envelopeRep}
	}
}

// inprocErr is a translation failure: the peer broke the pattern.
func inprocErr(reason string) error {
	return &wire.ProtocolError{Dialect: "inproc", Reason: reason}
}

// translate applies the pipe's translation to m, taken from its peer.
func (p *Pipe) translate(m *Message) error {
	switch p.inEnv {
	case inprocFromReq:
		if len(m.Body) < 4 {
			return inprocErr("request without a request id")
		}
		if p.reqIDs.correlate { // [id, "", body...]
			m.prependFrames([][]byte{m.Body[4:4], m.Body[4:]})
			m.Body = m.Body[:4:4]
			return nil
		}
		select {
		case p.reqIDs.get() <- binary.BigEndian.Uint32(m.Body):
		default: // too many outstanding: that reply will count as late
		}
		m.prependFrames([][]byte{m.Body[4:]})
		m.Body = m.Body[:0]
	case inprocFromRep:
		// Words of (u32 length, bytes) up to the empty delimiter, then the
		// body: a few frames, gathered on the stack.
		var room [4][]byte
		frames := room[:0]
		b := m.Body
		for {
			if len(b) < 4 {
				return inprocErr("reply without a complete envelope")
			}
			n := binary.BigEndian.Uint32(b)
			if uint64(n) > uint64(len(b)-4) {
				return inprocErr("reply without a complete envelope")
			}
			frames = append(frames, b[4:4+n])
			b = b[4+n:]
			if n == 0 {
				break
			}
		}
		m.Body = frames[0]
		m.prependFrames(append(frames[1:], b))
	case inprocToReq, inprocToRep:
		return p.env.open(m)
	}
	return nil
}
