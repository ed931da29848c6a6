package socket

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzInprocTranslate feeds the inproc envelope translation messages of
// any shape (a raw REP or a ROUTER application can send anything): it
// either fails with a protocol error or gives a message whose frames hold
// exactly the bytes it was given, less a REQ's request id.
func FuzzInprocTranslate(f *testing.F) {
	f.Add(uint8(inprocFromReq), []byte("\x80\x00\x00\x01hello"), []byte{}, false)
	f.Add(uint8(inprocFromRep), []byte("\x00\x00\x00\x02id\x00\x00\x00\x00reply"), []byte("more"), true)
	f.Add(uint8(inprocToReq), []byte{}, []byte("answer"), true)
	f.Add(uint8(inprocToRep), []byte("id"), []byte{}, true)
	f.Add(uint8(inprocFromRep), []byte("\xff\xff\xff\xff"), []byte{}, false)
	f.Add(uint8(128+inprocFromReq-1), []byte("\x80\x00\x00\x01hello"), []byte{}, false)
	f.Add(uint8(128+inprocToReq-1), []byte("\x80\x00\x00\x02"), []byte{}, true)
	f.Fuzz(func(t *testing.T, kind uint8, body, frame []byte, withFrame bool) {
		p := &Pipe{reqIDs: &idQueue{correlate: kind >= 128}}
		local := PortInfo{reqIDs: p.reqIDs}
		switch inprocEnv(kind%4 + 1) {
		case inprocFromReq:
			p.inEnv = inprocFromReq
		case inprocFromRep:
			p.inEnv = inprocFromRep
		case inprocToReq:
			p.inEnv = inprocToReq
			p.env = &envelopes{env: envelopeReq, ids: local.reqIDs.get(), correlate: p.reqIDs.correlate}
			p.reqIDs.get() <- 0x80000007
		case inprocToRep:
			p.inEnv = inprocToRep
			p.env = &envelopes{env: envelopeRep}
		}
		m := NewMessageBytes(body)
		if withFrame {
			m.Frames = [][]byte{bytes.Clone(frame)}
		}
		before := m.Len()
		err := p.translate(m)
		if err != nil {
			return
		}
		switch p.inEnv {
		case inprocFromReq:
			if p.reqIDs.correlate {
				if m.Len() != before || len(m.Body) != 4 || len(m.Frames) < 2 || len(m.Frames[0]) != 0 {
					t.Fatalf("from a correlating REQ: body %q, %d frames", m.Body, len(m.Frames))
				}
			} else if m.Len() != before-4 || len(m.Body) != 0 {
				t.Fatalf("from REQ: %d bytes left of %d, body %q", m.Len(), before, m.Body)
			}
		case inprocFromRep:
			if len(m.Header) != 0 || m.Len() > before {
				t.Fatalf("from REP: header %q, %d bytes of %d", m.Header, m.Len(), before)
			}
		case inprocToReq:
			if !p.reqIDs.correlate && binary.BigEndian.Uint32(m.Header) != 0x80000007 {
				t.Fatalf("to REQ: header %x", m.Header)
			}
			if p.reqIDs.correlate && len(m.Header) != 4 {
				t.Fatalf("to a correlating REQ: header %x", m.Header)
			}
		}
	})
}
