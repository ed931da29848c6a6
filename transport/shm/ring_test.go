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

// testPool makes an inPool of n slots of size bytes over fresh memory, and
// returns it with its release ring.
func testPool(n int, size uint64) (*inPool, relRing) {
	words := make([]uint64, (relCtlSize+relEntSize)/8)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	rel := newRelRing(mem[:relCtlSize], mem[relCtlSize:])
	return newInPool(make([]byte, uint64(n)*size), n, size, rel), rel
}

// TestRingWrapAround streams records of many lengths through rings small
// enough to wrap many times: in a small ring, records of up to 700 bytes;
// in a larger one, records of up to 12 KiB, which the producer copies in
// past the cache (internal/streamcopy), some of them split at the wrap.
func TestRingWrapAround(t *testing.T) {
	for _, c := range []struct {
		ring, most, reads int
	}{
		{minRingCap, 700, 333},
		{64 << 10, 12 << 10, 5000},
	} {
		r := testRing(c.ring)
		p, cons := newProducer(r), newConsumer(r)
		var want, got bytes.Buffer
		out := make([]byte, c.reads)
		for i := range 2000 {
			msg := bytes.Repeat([]byte{byte(i), byte(i >> 8), 7}, 1+(i*7919)%c.most)[:1+(i*7919)%c.most]
			n, err := p.write(msg)
			if err != nil {
				t.Fatal(err)
			}
			want.Write(msg[:n])
			for {
				k, err := cons.read(out)
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
			t.Fatalf("ring %d: bytes differ: wrote %d, read %d", c.ring, want.Len(), got.Len())
		}
		if p.head < 4*r.cap {
			t.Fatalf("ring %d did not wrap: head %d", c.ring, p.head)
		}
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
		// The peer's pool: 4 slots of 4 KiB. Loans are read in place and
		// released two loans later, so that a slot lent twice shows.
		pool, rel := testPool(4, 4096)
		c.loans = pool
		var held []loanRec
		buf := make([]byte, 97)
		for range 200 {
			if c.pending.active {
				rec := c.pending
				c.pending = loanRec{}
				if b := pool.body(rec); len(b) != int(rec.len) || uint64(rec.off)+uint64(rec.len) > pool.size {
					t.Fatalf("loan body of %d bytes for %+v", len(b), rec)
				}
				if held = append(held, rec); len(held) > 2 {
					if _, err := pool.release(held[0], true); err != nil {
						t.Fatalf("release: %v", err)
					}
					held = held[1:]
					atomic.StoreUint64(rel.tail, atomic.LoadUint64(rel.head)) // the owner drains
				}
				continue
			}
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
			if n == 0 && !c.pending.active {
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
	spin := time.Duration(defaultSpin.Load())
	def := func(c config) config {
		if c.slots == 0 && c.slotSize == 0 {
			c.slots, c.slotSize = DefaultSlots, DefaultSlotSize
		}
		return c
	}
	good := map[string]config{
		"/a/b.sock":                      def(config{path: "/a/b.sock", spin: spin, ring: DefaultRingSize}),
		"x.sock?spin=0":                  def(config{path: "x.sock", spin: 0, ring: DefaultRingSize}),
		"/a?b/c.sock":                    def(config{path: "/a?b/c.sock", spin: spin, ring: DefaultRingSize}),
		"/c.sock?ring=4096&spin=5us":     def(config{path: "/c.sock", spin: 5 * time.Microsecond, ring: 4096}),
		"/d.sock?slots=0":                {path: "/d.sock", spin: spin, ring: DefaultRingSize, slots: 0, slotSize: DefaultSlotSize},
		"/d.sock?slots=4&slotsize=65536": {path: "/d.sock", spin: spin, ring: DefaultRingSize, slots: 4, slotSize: 65536},
	}
	for addr, want := range good {
		if got, err := parseAddr(addr); err != nil || got != want {
			t.Errorf("parseAddr(%q) = %+v, %v; want %+v", addr, got, err, want)
		}
	}
	for _, addr := range []string{"", "?spin=0", "/x?spin=-1s", "/x?spin=fast", "/x?ring=5000", "/x?ring=1024", "/x?ring=4294967296", "/x?color=red", "/x?%zz",
		"/x?slots=-1", "/x?slots=129", "/x?slots=many", "/x?slotsize=4096", "/x?slotsize=70000", "/x?slotsize=134217728", "/x?slotsize=-65536"} {
		if _, err := parseAddr(addr); !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("parseAddr(%q): %v, want ErrBadURL", addr, err)
		}
	}
}

// TestRingLoans: loan records between inline ones stop a read where they
// start, are checked against the pool, and bad ones are sticky faults.
func TestRingLoans(t *testing.T) {
	setup := func() (*producer, *consumer, *inPool) {
		r := testRing(minRingCap)
		p, c := newProducer(r), newConsumer(r)
		pool, _ := testPool(4, 4096)
		c.loans = pool
		return &p, &c, pool
	}
	p, c, pool := setup()
	p.write([]byte("head"))
	if ok, err := p.writeLoan(2, 1, 8, 100); !ok || err != nil {
		t.Fatalf("writeLoan: %v, %v", ok, err)
	}
	p.write([]byte("tail"))
	buf := make([]byte, 64)
	if n, err := c.read(buf); n != 4 || err != nil || string(buf[:4]) != "head" {
		t.Fatalf("read before the loan: %d %q, %v", n, buf[:n], err)
	}
	if !c.pending.active || c.pending.idx != 2 || c.pending.len != 100 || c.pending.off != 8 {
		t.Fatalf("pending loan %+v", c.pending)
	}
	if n, err := c.read(buf); n != 0 || err != nil {
		t.Fatalf("read with a loan pending: %d, %v", n, err)
	}
	rec := c.pending
	c.pending = loanRec{}
	if n, err := c.read(buf); n != 4 || err != nil || string(buf[:4]) != "tail" {
		t.Fatalf("read after the loan: %d %q, %v", n, buf[:n], err)
	}
	if _, err := pool.release(rec, true); err != nil {
		t.Fatal(err)
	}

	cases := map[string]func(p *producer){
		"slot out of range":  func(p *producer) { p.writeLoan(4, 1, 0, 8) },
		"generation skipped": func(p *producer) { p.writeLoan(0, 2, 0, 8) },
		"generation reused":  func(p *producer) { p.writeLoan(0, 1, 0, 8); p.writeLoan(1, 1, 0, 8); p.writeLoan(0, 1, 0, 8) },
		"past the slot":      func(p *producer) { p.writeLoan(0, 1, 4000, 97) },
		"offset overflows":   func(p *producer) { p.writeLoan(0, 1, 0xFFFFFFFF, 2) },
		"empty loan":         func(p *producer) { p.writeLoan(0, 1, 0, 0) },
		"slot still held":    func(p *producer) { p.writeLoan(3, 1, 0, 8); p.writeLoan(3, 2, 0, 8) },
		"record size": func(p *producer) {
			binary.LittleEndian.PutUint64(p.r.data, kindLoan<<32|8)
			p.head += 16
			atomic.StoreUint64(p.r.head, p.head)
		},
	}
	for name, write := range cases {
		t.Run(name, func(t *testing.T) {
			p, c, _ := setup()
			write(p)
			var err error
			for range 4 {
				if _, err = c.read(buf); err != nil {
					break
				}
				c.pending = loanRec{} // taken, never released
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, socket.ErrProtocol) {
				t.Fatalf("read: %v, want a *CorruptError", err)
			}
			if _, err2 := c.read(buf); err2 != err {
				t.Fatalf("error not sticky: %v", err2)
			}
		})
	}
}

// TestReleaseRing: the owner takes releases of slots it lent, and refuses
// releases of slots that are not on loan, of the wrong generation, or a
// release ring position that is impossible.
func TestReleaseRing(t *testing.T) {
	setup := func() (*outPool, *inPool) {
		in, rel := testPool(4, 65536)
		out := newOutPool(in.mem, 4, 65536, rel)
		return out, in
	}
	lend := func(out *outPool, in *inPool) loanRec {
		buf, ok := out.take(70000 - 65536 + 1000)
		if !ok {
			t.Fatal("no slot")
		}
		idx, ok := out.index(buf)
		if !ok {
			t.Fatal("index of a taken buffer")
		}
		out.gen[idx]++
		out.state[idx] = slotOnLoan
		var b [loanRecSize]byte
		binary.LittleEndian.PutUint32(b[:], idx)
		binary.LittleEndian.PutUint32(b[4:], out.gen[idx])
		binary.LittleEndian.PutUint32(b[12:], uint32(len(buf)))
		rec, err := in.accept(b[:])
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	out, in := setup()
	for range 50 {
		var recs []loanRec
		for range 4 {
			recs = append(recs, lend(out, in))
		}
		if _, ok := out.take(100); ok {
			t.Fatal("a fifth slot of four")
		}
		for _, r := range recs {
			if _, err := in.release(r, true); err != nil {
				t.Fatal(err)
			}
		}
		if err := out.drain(0); err != nil || len(out.free) != 4 {
			t.Fatalf("drain: %v, %d free", err, len(out.free))
		}
	}
	if _, ok := out.index(make([]byte, 10)); ok {
		t.Fatal("index of a foreign buffer")
	}

	put := func(in *inPool, e uint64) {
		binary.LittleEndian.PutUint64(in.rel.ent[(in.head%relCap)*8:], e)
		in.head++
		atomic.StoreUint64(in.rel.head, in.head)
	}
	cases := map[string]func(out *outPool, in *inPool){
		"slot not on loan":  func(out *outPool, in *inPool) { put(in, 1<<32|2) },
		"slot out of range": func(out *outPool, in *inPool) { put(in, 1<<32|9) },
		"wrong generation": func(out *outPool, in *inPool) {
			r := lend(out, in)
			put(in, uint64(r.gen+1)<<32|uint64(r.idx))
		},
		"released twice": func(out *outPool, in *inPool) {
			r := lend(out, in)
			in.release(r, true)
			put(in, uint64(r.gen)<<32|uint64(r.idx))
		},
		"head past capacity": func(out *outPool, in *inPool) { atomic.StoreUint64(in.rel.head, relCap+1) },
		"head goes back": func(out *outPool, in *inPool) {
			in.release(lend(out, in), true)
			out.drain(0)
			atomic.StoreUint64(in.rel.head, 0)
		},
	}
	for name, scribble := range cases {
		t.Run(name, func(t *testing.T) {
			out, in := setup()
			scribble(out, in)
			err := out.drain(0)
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, socket.ErrProtocol) {
				t.Fatalf("drain: %v, want a *CorruptError", err)
			}
		})
	}
	t.Run("owner tail past our head", func(t *testing.T) {
		out, in := setup()
		r := lend(out, in)
		atomic.StoreUint64(in.rel.tail, 5)
		if _, err := in.release(r, true); !errors.Is(err, socket.ErrProtocol) {
			t.Fatalf("release: %v", err)
		}
	})
}

// FuzzReleaseRing feeds arbitrary release rings to a pool's owner: drain
// must take good releases, refuse bad ones with a *CorruptError, never
// panic, and never free a slot twice. The input is which of 4 slots are on
// loan (a bit each in byte 0) and their generations (bytes 1-4), the
// release ring's published position (8 bytes), then its entries.
func FuzzReleaseRing(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 13 {
			return
		}
		in, rel := testPool(4, 65536)
		out := newOutPool(in.mem, 4, 65536, rel)
		out.free = out.free[:0]
		for i := range 4 {
			out.gen[i] = uint32(data[1+i])
			if data[0]>>i&1 != 0 {
				out.state[i] = slotOnLoan
			} else {
				out.free = append(out.free, uint32(i))
			}
		}
		copy(rel.ent, data[13:])
		atomic.StoreUint64(rel.head, binary.LittleEndian.Uint64(data[5:]))
		err := out.drain(0)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, socket.ErrProtocol) {
				t.Fatalf("untyped error %v", err)
			}
		}
		seen := map[uint32]bool{}
		for _, i := range out.free {
			if seen[i] || out.state[i] != slotFree {
				t.Fatalf("free list %v with states %v", out.free, out.state)
			}
			seen[i] = true
		}
		if len(out.free) > 4 || out.tail > relCap {
			t.Fatalf("free %d, tail %d", len(out.free), out.tail)
		}
	})
}
