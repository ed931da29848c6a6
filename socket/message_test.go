package socket_test

import (
	"bytes"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

func TestNewMessage(t *testing.T) {
	for _, size := range []int{0, 1, 63, 64, 65, 1000, 1 << 20, 1<<20 + 1, 3 << 20} {
		m := socket.NewMessage(size)
		if len(m.Body) != size || len(m.Header) != 0 || m.Frames != nil || m.Pipe != 0 || m.Len() != size {
			t.Errorf("NewMessage(%d): body %d, header %d, len %d", size, len(m.Body), len(m.Header), m.Len())
		}
		m.Free()
	}
	// A recycled message comes back clean.
	m := socket.NewMessageBytes([]byte("abc"))
	m.SetHeader([]byte{1, 2, 3, 4})
	m.Pipe = 7
	m.Frames = [][]byte{[]byte("x")}
	m.Free()
	for range 10 {
		m := socket.NewMessage(3)
		if len(m.Header) != 0 || m.Pipe != 0 || m.Frames != nil || len(m.Body) != 3 {
			t.Fatalf("recycled message not reset: %+v", m)
		}
		m.Free()
	}
	var nilMsg *socket.Message
	nilMsg.Free() // harmless
	if got := socket.NewMessageBytes([]byte("copy")); string(got.Body) != "copy" {
		t.Errorf("NewMessageBytes: %q", got.Body)
	}
}

func TestSetHeaderAndPrepend(t *testing.T) {
	for _, hlen := range []int{4, 8, 60, 64, 65, 200} {
		h := bytes.Repeat([]byte{0xab}, hlen)
		m := socket.NewMessageBytes([]byte("body"))
		m.SetHeader(h)
		if !bytes.Equal(m.Header, h) || string(m.Body) != "body" || m.Len() != hlen+4 {
			t.Fatalf("SetHeader(%d bytes): header %x, body %q", hlen, m.Header, m.Body)
		}
		h[0] = 0 // the message holds a copy
		if m.Header[0] != 0xab {
			t.Fatalf("SetHeader kept the caller's slice")
		}
		// Setting a header again replaces the first.
		m.SetHeader([]byte{1, 2, 3, 4})
		if !bytes.Equal(m.Header, []byte{1, 2, 3, 4}) || string(m.Body) != "body" {
			t.Fatalf("second SetHeader: %x %q", m.Header, m.Body)
		}
		m.PrependHeaderToBody()
		if len(m.Header) != 0 || !bytes.Equal(m.Body, []byte{1, 2, 3, 4, 'b', 'o', 'd', 'y'}) {
			t.Fatalf("PrependHeaderToBody: header %x, body %x", m.Header, m.Body)
		}
		m.Free()

		m = socket.NewMessageBytes([]byte("body"))
		m.SetHeader(bytes.Repeat([]byte{0xcd}, hlen))
		m.PrependHeaderToBody()
		if len(m.Body) != hlen+4 || !bytes.Equal(m.Body[:hlen], bytes.Repeat([]byte{0xcd}, hlen)) || string(m.Body[hlen:]) != "body" {
			t.Fatalf("PrependHeaderToBody of %d bytes: %x", hlen, m.Body)
		}
		m.Free()
	}
	// Nothing to prepend.
	m := socket.NewMessageBytes([]byte("plain"))
	m.PrependHeaderToBody()
	if string(m.Body) != "plain" || len(m.Header) != 0 {
		t.Fatalf("PrependHeaderToBody with no header: %q", m.Body)
	}
	// A message that is not from the pool.
	m = &socket.Message{Body: []byte("outside")}
	m.SetHeader([]byte{9, 9, 9, 9})
	m.PrependHeaderToBody()
	if !bytes.Equal(m.Body, append([]byte{9, 9, 9, 9}, "outside"...)) {
		t.Fatalf("PrependHeaderToBody of an unpooled message: %x", m.Body)
	}
	m.Free() // harmless
}

// SetHeader takes the room in front of the body only where no frame of
// the message lies: an application may make a frame of part of the body's
// buffer, in front of what it makes the body.
func TestSetHeaderSparesFrames(t *testing.T) {
	m := socket.NewMessageBytes([]byte("frame-----body"))
	all := m.Body
	m.Body, m.Frames = all[10:], [][]byte{all[:5]}
	m.SetHeader(bytes.Repeat([]byte{0xee}, 12))
	if string(m.Frames[0]) != "frame" || string(m.Body) != "body" || !bytes.Equal(m.Header, bytes.Repeat([]byte{0xee}, 12)) {
		t.Fatalf("SetHeader with a frame in front of the body: header %x, body %q, frame %q", m.Header, m.Body, m.Frames[0])
	}
	m.SetHeader([]byte{1, 2, 3, 4}) // fits between the frame and the body
	if string(m.Frames[0]) != "frame" || string(m.Body) != "body" || !bytes.Equal(m.Header, []byte{1, 2, 3, 4}) {
		t.Fatalf("SetHeader of 4 bytes: header %x, body %q, frame %q", m.Header, m.Body, m.Frames[0])
	}
	m.Free()
}

func TestTrimHeader(t *testing.T) {
	words := []byte{0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0, 0, 3}
	m := socket.NewMessageBytes(append(append([]byte(nil), words...), "payload"...))
	m.TrimHeader(0)
	if len(m.Header) != 0 {
		t.Fatalf("TrimHeader(0) made a header")
	}
	m.TrimHeader(4)
	m.TrimHeader(4)
	m.TrimHeader(4)
	if !bytes.Equal(m.Header, words) || string(m.Body) != "payload" {
		t.Fatalf("TrimHeader: header %x, body %q", m.Header, m.Body)
	}
	// The header does not grow into the body.
	m.Header = append(m.Header, 0xff)
	if string(m.Body) != "payload" {
		t.Fatalf("appending to the header overwrote the body: %q", m.Body)
	}
	m.Free()

	// The same on a message that is not from the pool.
	m = &socket.Message{Body: append(append([]byte(nil), words...), "payload"...)}
	m.TrimHeader(4)
	m.TrimHeader(8)
	if !bytes.Equal(m.Header, words) || string(m.Body) != "payload" {
		t.Fatalf("TrimHeader of an unpooled message: header %x, body %q", m.Header, m.Body)
	}

	// After SetHeader, the header sits right in front of the body.
	m = socket.NewMessageBytes([]byte("\x80\x00\x00\x07tail"))
	m.SetHeader([]byte{0, 0, 0, 1})
	m.TrimHeader(4)
	if !bytes.Equal(m.Header, []byte{0, 0, 0, 1, 0x80, 0, 0, 7}) || string(m.Body) != "tail" {
		t.Fatalf("TrimHeader after SetHeader: %x %q", m.Header, m.Body)
	}
	m.Free()

	// A header that is not next to the body.
	m = socket.NewMessageBytes([]byte("\x00\x00\x00\x05rest"))
	m.Header = []byte{1, 2, 3, 4}
	m.TrimHeader(4)
	if !bytes.Equal(m.Header, []byte{1, 2, 3, 4, 0, 0, 0, 5}) || string(m.Body) != "rest" {
		t.Fatalf("TrimHeader after a separate header: %x %q", m.Header, m.Body)
	}
	m.Free()

	// Round trip: what TrimHeader takes off, SetHeader and Prepend put back.
	m = socket.NewMessageBytes(append(append([]byte(nil), words...), "payload"...))
	m.TrimHeader(len(words))
	h := bytes.Clone(m.Header)
	m.Header = m.Header[:0]
	m.SetHeader(h)
	m.PrependHeaderToBody()
	if !bytes.Equal(m.Body, append(append([]byte(nil), words...), "payload"...)) {
		t.Fatalf("round trip: %x", m.Body)
	}
	m.Free()
}

func TestClone(t *testing.T) {
	m := socket.NewMessageBytes([]byte("original"))
	m.SetHeader([]byte{0x80, 0, 0, 1})
	m.Frames = [][]byte{[]byte("f1"), []byte("f2")}
	m.Pipe = 42
	c := m.Clone()
	if !bytes.Equal(c.Header, m.Header) || !bytes.Equal(c.Body, m.Body) || len(c.Frames) != 2 ||
		string(c.Frames[1]) != "f2" || c.Pipe != 42 {
		t.Fatalf("Clone: %+v", c)
	}
	// Deep: changing one leaves the other alone.
	c.Body[0] = 'X'
	c.Header[3] = 9
	c.Frames[0][0] = 'Z'
	if string(m.Body) != "original" || m.Header[3] != 1 || string(m.Frames[0]) != "f1" {
		t.Fatalf("Clone shares memory: %+v", m)
	}
	m.Free()
	if string(c.Body) != "Xriginal" {
		t.Fatalf("freeing the original changed the clone: %q", c.Body)
	}
	c.Free()
	big := socket.NewMessage(2 << 20)
	big.Body[len(big.Body)-1] = 7
	if bc := big.Clone(); len(bc.Body) != 2<<20 || bc.Body[len(bc.Body)-1] != 7 {
		t.Fatal("Clone of a large message")
	}
}

func TestMessagePoolAllocations(t *testing.T) {
	// Taking a message from the pool and giving it back does not allocate
	// once the pool is warm.
	for range 4 {
		socket.NewMessage(100).Free()
	}
	n := testing.AllocsPerRun(1000, func() {
		m := socket.NewMessage(100)
		m.SetHeader([]byte{0x80, 0, 0, 1})
		m.TrimHeader(0)
		m.PrependHeaderToBody()
		m.Free()
	})
	if testutil.Race {
		// The race detector's sync.Pool drops some of what it is given:
		// about 1 run in 20 saw a whole allocation per message.
		t.Logf("%v allocations per pooled message (not checked under the race detector)", n)
		return
	}
	if n > 0.1 {
		t.Errorf("%v allocations per pooled message", n)
	}
}

func TestPushFrame(t *testing.T) {
	id := []byte{0, 1, 2, 3, 4}
	for _, n := range []int{0, 1, 3} {
		m := socket.NewMessageBytes([]byte("body"))
		for i := 0; i < n; i++ {
			m.Frames = append(m.Frames, []byte{byte('a' + i)})
		}
		m.PushFrame(id)
		id[0] = 9 // PushFrame copied it
		if string(m.Body) != "\x00\x01\x02\x03\x04" || len(m.Frames) != n+1 || string(m.Frames[0]) != "body" {
			t.Fatalf("%d frames: body %q frames %q", n, m.Body, m.Frames)
		}
		for i := 0; i < n; i++ {
			if string(m.Frames[i+1]) != string(rune('a'+i)) {
				t.Fatalf("%d frames: frame %d is %q", n, i+1, m.Frames[i+1])
			}
		}
		id[0] = 0
		m.Free()
	}
	m := socket.NewMessageBytes([]byte("x"))
	if a := testing.AllocsPerRun(100, func() {
		m.Frames = nil
		m.PushFrame(id)
		m.Body = m.Frames[0]
	}); a != 0 {
		t.Errorf("PushFrame allocates %v times", a)
	}
}
