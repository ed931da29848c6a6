package shm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mqwire/mqwire/socket"
)

// testRing lays a ring of capacity size over fresh, 8-aligned memory.
func testRing(size int) *ring {
	words := make([]uint64, (ctlSize+size)/8)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	return newRing(mem[:ctlSize], mem[ctlSize:])
}

func TestRingWrapAround(t *testing.T) {
	r := testRing(minRingCap)
	p, c := newProducer(r), newConsumer(r)
	var want, got bytes.Buffer
	out := make([]byte, 333)
	for i := range 2000 {
		msg := bytes.Repeat([]byte{byte(i)}, 1+i%700)
		n, err := p.write(msg)
		if err != nil {
			t.Fatal(err)
		}
		want.Write(msg[:n])
		for {
			k, err := c.read(out)
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				break
			}
			got.Write(out[:k])
		}
	}
	if !bytes.Equal(want.Bytes(), got.Bytes()) {
		t.Fatalf("bytes differ: wrote %d, read %d", want.Len(), got.Len())
	}
	if p.head < 4*r.cap {
		t.Fatalf("ring did not wrap: head %d", p.head)
	}
}

func TestRingFullBackPressure(t *testing.T) {
	r := testRing(minRingCap)
	p, c := newProducer(r), newConsumer(r)
	big := make([]byte, 3*minRingCap)
	total := 0
	for {
		n, err := p.write(big[total:])
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total == 0 || total > minRingCap {
		t.Fatalf("a full ring took %d bytes of a %d-byte ring", total, minRingCap)
	}
	if n, _ := p.write([]byte("x")); n != 0 {
		t.Fatal("write to a full ring took bytes")
	}
	// Reading some frees room, and the producer sees it.
	buf := make([]byte, 1000)
	if n, err := c.read(buf); n != 1000 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if n, err := p.write(big[total:]); n == 0 || err != nil {
		t.Fatalf("write after a read: %d, %v", n, err)
	}
}

func TestRingCorruption(t *testing.T) {
	setup := func() (*ring, *producer, *consumer) {
		r := testRing(minRingCap)
		p, c := newProducer(r), newConsumer(r)
		p.write([]byte("hello world"))
		return r, &p, &c
	}
	cases := map[string]func(r *ring, p *producer, c *consumer){
		"head beyond capacity": func(r *ring, _ *producer, _ *consumer) { atomic.StoreUint64(r.head, r.cap+8) },
		"head unaligned":       func(r *ring, _ *producer, _ *consumer) { atomic.StoreUint64(r.head, 13) },
		"record too long": func(r *ring, _ *producer, _ *consumer) {
			binary.LittleEndian.PutUint64(r.data, kindInline<<32|1000)
		},
		"empty record": func(r *ring, _ *producer, _ *consumer) {
			binary.LittleEndian.PutUint64(r.data, kindInline<<32)
		},
		"unknown kind": func(r *ring, _ *producer, _ *consumer) {
			binary.LittleEndian.PutUint64(r.data, 0x77<<32|11)
		},
		"loan record": func(r *ring, _ *producer, _ *consumer) {
			binary.LittleEndian.PutUint64(r.data, kindLoan<<32|11)
		},
	}
	for name, scribble := range cases {
		t.Run(name, func(t *testing.T) {
			r, p, c := setup()
			scribble(r, p, c)
			_, err := c.read(make([]byte, 64))
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, socket.ErrProtocol) {
				t.Fatalf("read: %v, want a *CorruptError matching ErrProtocol", err)
			}
			if _, err2 := c.read(make([]byte, 64)); err2 != err {
				t.Fatalf("error not sticky: %v", err2)
			}
		})
	}
	t.Run("head goes back", func(t *testing.T) {
		r, _, c := setup()
		if n, err := c.read(make([]byte, 64)); n != 11 || err != nil {
			t.Fatalf("read %d, %v", n, err)
		}
		atomic.StoreUint64(r.head, 8)
		if _, err := c.read(make([]byte, 64)); !errors.Is(err, socket.ErrProtocol) {
			t.Fatalf("read: %v", err)
		}
	})
	t.Run("tail past head", func(t *testing.T) {
		r, p, _ := setup()
		atomic.StoreUint64(r.tail, 1<<40)
		p.head += 0
		for range 1000 {
			if _, err := p.write(make([]byte, 100)); err != nil {
				if !errors.Is(err, socket.ErrProtocol) {
					t.Fatalf("write: %v", err)
				}
				return
			}
		}
		t.Fatal("producer never noticed a tail past its head")
	})
	t.Run("tail goes back", func(t *testing.T) {
		r, p, c := setup()
		c.read(make([]byte, 64))
		for {
			n, err := p.write(make([]byte, 500))
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		c.read(make([]byte, 64))
		p.loadTail()
		atomic.StoreUint64(r.tail, 0)
		if err := p.loadTail(); !errors.Is(err, socket.ErrProtocol) {
			t.Fatalf("loadTail: %v", err)
		}
	})
}

// FuzzRingReader feeds arbitrary producer positions and ring contents to
// the consumer: it must return bytes or a *CorruptError, never panic, and
// never claim more than it was given room for. The input is the published
// position (8 bytes, relative to the start), the start position in 8-byte
// units (2 bytes, so that records wrap around the end), then the ring's
// contents from the start position on.
func FuzzRingReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testRing(minRingCap)
		var head, base uint64
		if len(data) >= 10 {
			head = binary.LittleEndian.Uint64(data)
			base = uint64(binary.LittleEndian.Uint16(data[8:])) * 8
			data = data[10:]
		}
		for i, b := range data[:min(len(data), len(r.data))] {
			r.data[(base+uint64(i))&r.mask] = b
		}
		atomic.StoreUint64(r.tail, base)
		atomic.StoreUint64(r.head, base+head)
		c := newConsumer(r)
		c.tail, c.head = base, base
		buf := make([]byte, 97)
		for range 200 {
			n, err := c.read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("read returned %d", n)
			}
			if err != nil {
				var ce *CorruptError
				if !errors.As(err, &ce) || !errors.Is(err, socket.ErrProtocol) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if c.tail > c.head || c.head-c.tail > r.cap || c.tail < base {
				t.Fatalf("positions out of range: tail %d head %d", c.tail, c.head)
			}
			if n == 0 {
				// Move the producer on by what the input says, as a
				// live (hostile) peer would.
				atomic.AddUint64(r.head, head&0xFF8)
				if head&0xFF8 == 0 {
					return
				}
			}
		}
	})
}

func TestParseAddr(t *testing.T) {
	good := map[string]config{
		"/a/b.sock":                  {path: "/a/b.sock", spin: time.Duration(defaultSpin.Load()), ring: DefaultRingSize},
		"x.sock?spin=0":              {path: "x.sock", spin: 0, ring: DefaultRingSize},
		"/a?b/c.sock":                {path: "/a?b/c.sock", spin: time.Duration(defaultSpin.Load()), ring: DefaultRingSize},
		"/c.sock?ring=4096&spin=5us": {path: "/c.sock", spin: 5 * time.Microsecond, ring: 4096},
	}
	for addr, want := range good {
		if got, err := parseAddr(addr); err != nil || got != want {
			t.Errorf("parseAddr(%q) = %+v, %v; want %+v", addr, got, err, want)
		}
	}
	for _, addr := range []string{"", "?spin=0", "/x?spin=-1s", "/x?spin=fast", "/x?ring=5000", "/x?ring=1024", "/x?ring=4294967296", "/x?color=red", "/x?%zz"} {
		if _, err := parseAddr(addr); !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("parseAddr(%q): %v, want ErrBadURL", addr, err)
		}
	}
}
