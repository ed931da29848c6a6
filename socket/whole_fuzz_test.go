package socket

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// FuzzWhole checks the promise reading through rests on: when a codec's
// whole says the buffer starts with a whole message (or a header that
// readMessage refuses), readMessage needs no byte beyond the buffer; when
// it says part of one, readMessage does not return a message (it runs out
// of bytes, or refuses what a hostile peer sent so far). An application
// reading through parses only what whole calls whole, so a Recv that ends
// early never leaves a message half read, and a whole message is never
// left waiting for more bytes.
func FuzzWhole(f *testing.F) {
	frame := func(flags byte, body string) []byte { return zmtp.AppendFrame(nil, flags, []byte(body)) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	spFrame := sp.FramingTCP.AppendFrameHeader(nil, 5)
	f.Add(append(spFrame, "hello"...), byte(0), uint16(0))
	f.Add(append(spFrame, "hel"...), byte(0), uint16(0))
	f.Add(spFrame[:3], byte(0), uint16(0))
	f.Add(append(sp.FramingIPC.AppendFrameHeader(nil, 5), "hello"...), byte(1), uint16(0))
	f.Add(append(spFrame, "hello"...), byte(0), uint16(4)) // over the limit
	f.Add(frame(0, "hello"), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, ""), frame(0, "body")), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, "a"), frame(0, "bc")[:2]), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, "abc"), frame(0, "defgh")), byte(2), uint16(6))
	f.Add(cat(frame(zmtp.FlagMore, "abc"), frame(0, "d")), byte(2), uint16(3))
	f.Add(cat(zmtp.AppendPing(nil, 0, []byte("x")), frame(0, "after")), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, "a"), zmtp.AppendPing(nil, 0, nil), frame(0, "b")), byte(2), uint16(0))
	f.Add(zmtp.AppendError(nil, "go away"), byte(2), uint16(0))
	f.Add(zmtp.AppendFrameHeader(nil, 0, 1<<20), byte(2), uint16(0))
	f.Add([]byte{0x80, 1, 'x'}, byte(2), uint16(0))
	// Envelopes: a REP's request, a correlating REQ's reply.
	f.Add(cat(frame(zmtp.FlagMore, "id"), frame(zmtp.FlagMore, ""), frame(zmtp.FlagMore, "h"), frame(0, "body")), byte(5), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, "\x80\x00\x00\x01"), frame(zmtp.FlagMore, ""), frame(0, "body")), byte(8), uint16(0))
	f.Add(frame(0, string(make([]byte, 70000))), byte(8), uint16(0))         // a reply with no envelope
	f.Add(bytes.Repeat([]byte{zmtp.FlagMore, 0}, 33000), byte(2), uint16(0)) // many frames, none large
	// Large last parts, with frames in front (startLarge).
	large := make([]byte, 70000)
	f.Add(append(sp.FramingTCP.AppendFrameHeader(nil, uint64(len(large))), large...), byte(0), uint16(0))
	f.Add(frame(0, string(large)), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, "id"), frame(zmtp.FlagMore, ""), frame(0, string(large))), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, ""), frame(0, string(large[:100]))[:50]), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, "a"), frame(zmtp.FlagMore, string(large)), frame(0, "b")), byte(2), uint16(0))
	f.Add(cat(frame(zmtp.FlagMore, "a"), zmtp.AppendFrameHeader(nil, zmtp.FlagMore, 1<<31-1)), byte(2), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, dialect byte, limit uint16) {
		var c streamCodec
		switch dialect % 3 {
		case 0:
			c = &spCodec{framing: sp.FramingTCP}
		case 1:
			c = &spCodec{framing: sp.FramingIPC}
		default:
			zc := &zmtpCodec{pipe: &Pipe{sock: &Socket{}, ctrl: make(chan []byte, 1), sendq: newSendQueue(1, 0)}}
			zc.watching.Store(true)  // no heartbeat goroutine for a PING's TTL
			switch dialect / 3 % 3 { // a REQ's or REP's envelopes
			case 1:
				zc.env = envelopeRep
			case 2:
				zc.env, zc.correlate = envelopeReq, true
			}
			c = zc
		}
		lim := uint64(limit)
		w := c.whole(data, lim)
		if w == wholeNo && len(data) >= readBufferSize {
			// Waiting for more bytes, with no room for them, would wait
			// for ever (a message of many small frames).
			t.Fatal("whole: part of a message, in a full buffer")
		}
		if w == wholeLarge {
			checkLarge(t, c, data, lim)
			return
		}
		br := newReadBuffer(bytes.NewReader(data), nil, nil)
		m, err := readEach(c, br, lim)
		br.release()
		defer m.Free()
		checkBuffered(t, c, data, lim, m, err)
		ranOut := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		switch {
		case w == wholeYes && ranOut:
			t.Fatalf("whole: a whole message, but readMessage ran out of bytes (%v)", err)
		case w == wholeNo && err == nil:
			t.Fatal("whole: part of a message, but readMessage returned one")
		}
	})
}

// checkLarge checks, for a message whole found larger than the buffer,
// that what an application reading through makes of it (startLarge, the
// rest read by a bodyRead, endLarge) is what reading frame by frame makes
// (readEach): the same frames, or no message where that runs out of bytes.
func checkLarge(t *testing.T, c streamCodec, data []byte, limit uint64) {
	br := newReadBuffer(bytes.NewReader(data), nil, nil)
	defer br.release()
	br.Peek(len(data)) // buffered as far as the buffer goes, as whole saw it
	b, ok := c.startLarge(br, limit)
	if !ok {
		return // read by the reader goroutine
	}
	var got *Message
	if err := b.fill(br); err != nil {
		b.abandon()
	} else {
		got, _ = c.endLarge(b.done()) // nil when it fails: a broken envelope
	}
	defer got.Free()
	ref := newReadBuffer(bytes.NewReader(data), nil, nil)
	defer ref.release()
	want, err := readEach(c, ref, limit)
	defer want.Free()
	switch {
	case err != nil && got != nil:
		t.Fatalf("startLarge made a message where readMessage failed: %v", err)
	case err == nil && got == nil:
		t.Fatal("startLarge ran out of bytes where readMessage made a message")
	case got != nil && !slices.EqualFunc(frames(got), frames(want), bytes.Equal):
		t.Fatalf("startLarge made %d frames, readMessage %d, or they differ", len(frames(got)), len(frames(want)))
	}
}

// readEach is readMessage reading frame by frame (ZMTP's readFrames): what
// the ways of reading a message in one buffer are checked against.
func readEach(c streamCodec, br *readBuffer, limit uint64) (*Message, error) {
	if zc, ok := c.(*zmtpCodec); ok {
		return zc.readFrames(br, limit)
	}
	return c.readMessage(br, limit)
}

// checkBuffered checks that readMessage makes of data (a multipart message
// in one buffer, readMultipart) what readEach made of it: want and its
// err.
func checkBuffered(t *testing.T, c streamCodec, data []byte, limit uint64, want *Message, err error) {
	br := newReadBuffer(bytes.NewReader(data), nil, nil)
	defer br.release()
	br.Peek(len(data))
	got, gotErr := c.readMessage(br, limit)
	defer got.Free()
	switch {
	case (gotErr == nil) != (err == nil):
		t.Fatalf("readMessage of a buffered message: %v; frame by frame: %v", gotErr, err)
	case got != nil && want != nil && !slices.EqualFunc(frames(got), frames(want), bytes.Equal):
		t.Fatalf("readMessage of a buffered message made %q, frame by frame %q", frames(got), frames(want))
	case got != nil && want != nil && !bytes.Equal(got.Header, want.Header):
		t.Fatalf("readMessage of a buffered message made the header %x, frame by frame %x", got.Header, want.Header)
	}
}

// frames returns m's body and frames.
func frames(m *Message) [][]byte { return append([][]byte{m.Body}, m.Frames...) }
