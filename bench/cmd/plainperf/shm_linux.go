package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// A bare shared-memory stream between two processes, for shm:// URLs: a
// file at the URL's path, mapped by both, holding one single-producer
// single-consumer ring per direction. Records are a 4-byte length and the
// body, padded to 8 bytes; a record that would cross the ring's end is
// preceded by a skip record. Each side publishes its position once per
// batch it has (the producer every 64 records or when the ring is full, the
// consumer when it has caught up), and waits by spinning, yielding the
// processor between looks: nothing else, so it says what shared memory
// alone allows here.

const (
	shmRing   = 8 << 20 // bytes of records per direction
	shmHeader = 256     // the two positions of each ring, a cache line apiece
	shmFile   = 2 * (shmHeader + shmRing)
	shmBatch  = 64 // records a producer writes before it publishes
	shmSkip   = ^uint32(0)
)

func init() { transports = append(transports, "shm") }

// ring is one direction of the stream.
type ring struct {
	tail *atomic.Uint64 // next byte the producer writes (published)
	head *atomic.Uint64 // next byte the consumer reads (published)
	data []byte
	// The owner's own copies.
	pos, seen uint64
	unpub     int
}

// shmConn is a mapped file: out is the ring this side writes, in the one it
// reads. The binding side removes the file when it is done (path).
type shmConn struct {
	mem     []byte
	in, out ring
	path    string
}

func ringAt(mem []byte, off int) ring {
	return ring{
		tail: (*atomic.Uint64)(unsafe.Pointer(&mem[off])),
		head: (*atomic.Uint64)(unsafe.Pointer(&mem[off+shmHeader/2])),
		data: mem[off+shmHeader : off+shmHeader+shmRing],
	}
}

func shmPath(url string) string { return strings.TrimPrefix(url, "shm://") }

// shmCreate makes the file (the binding side) and maps it; its first ring
// is the one it reads.
func shmCreate(url string) (*shmConn, error) {
	f, err := os.OpenFile(shmPath(url), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(shmFile); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	c, err := shmMap(f, true)
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	c.path = f.Name()
	return c, nil
}

// shmOpen maps the file the binding side made, waiting for it.
func shmOpen(url string) (*shmConn, error) {
	deadline := time.Now().Add(dialFor)
	for {
		f, err := os.OpenFile(shmPath(url), os.O_RDWR, 0)
		if err == nil {
			st, serr := f.Stat()
			if serr == nil && st.Size() == shmFile {
				defer f.Close()
				return shmMap(f, false)
			}
			f.Close()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("plainperf: nothing bound at %s", url)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func shmMap(f *os.File, binder bool) (*shmConn, error) {
	mem, err := syscall.Mmap(int(f.Fd()), 0, shmFile, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	a, b := ringAt(mem, 0), ringAt(mem, shmHeader+shmRing)
	if binder {
		return &shmConn{mem: mem, in: a, out: b}, nil
	}
	return &shmConn{mem: mem, in: b, out: a}, nil
}

func (c *shmConn) close() error {
	if c.path != "" {
		os.Remove(c.path)
	}
	return syscall.Munmap(c.mem)
}

// spin waits a little between looks at the other side's position.
func spin(n *int) {
	if *n++; *n%64 == 0 {
		runtime.Gosched()
	}
}

// write appends a record of body, waiting for room.
func (r *ring) write(body []byte) error {
	need := uint64(8 + (len(body)+7)&^7)
	if need > shmRing/2 {
		return errors.New("plainperf: record too large for the shm ring")
	}
	if off := r.pos % shmRing; off+need > shmRing {
		r.wait(shmRing - off)
		binary.LittleEndian.PutUint32(r.data[off:], shmSkip)
		r.pos += shmRing - off
	}
	r.wait(need)
	off := r.pos % shmRing
	binary.LittleEndian.PutUint32(r.data[off:], uint32(len(body)))
	copy(r.data[off+8:], body)
	r.pos += need
	if r.unpub++; r.unpub >= shmBatch {
		r.flush()
	}
	return nil
}

// wait waits for n bytes of room, publishing what is written first.
func (r *ring) wait(n uint64) {
	if r.pos+n-r.seen <= shmRing {
		return
	}
	r.flush()
	for k := 0; ; spin(&k) {
		if r.seen = r.head.Load(); r.pos+n-r.seen <= shmRing {
			return
		}
	}
}

// flush publishes the producer's position.
func (r *ring) flush() {
	if r.unpub > 0 {
		r.tail.Store(r.pos)
		r.unpub = 0
	}
}

// read copies the next record's body into buf and returns its length,
// waiting for one.
func (r *ring) read(buf []byte) (int, error) {
	for {
		if r.pos == r.seen {
			r.head.Store(r.pos) // caught up: let the producer see the room
			r.unpub = 0
			for k := 0; ; spin(&k) {
				if r.seen = r.tail.Load(); r.seen != r.pos {
					break
				}
			}
		}
		off := r.pos % shmRing
		n := binary.LittleEndian.Uint32(r.data[off:])
		if n == shmSkip {
			r.pos += shmRing - off
			continue
		}
		if int(n) > len(buf) {
			return 0, fmt.Errorf("plainperf: a record of %d bytes, want %d", n, len(buf))
		}
		copy(buf, r.data[off+8:off+8+uint64(n)])
		r.pos += uint64(8 + (n+7)&^7)
		if r.unpub++; r.unpub >= shmBatch {
			r.head.Store(r.pos)
			r.unpub = 0
		}
		return int(n), nil
	}
}

func shmLocalThr(url string, size, count int, ready func()) (int, time.Duration, error) {
	c, err := shmCreate(url)
	if err != nil {
		return 0, 0, err
	}
	defer c.close()
	if ready != nil {
		ready()
	}
	buf := make([]byte, size)
	var start time.Time
	for i := range count {
		n, err := c.in.read(buf)
		if err != nil {
			return i, 0, err
		}
		if i == 0 {
			start = time.Now()
		}
		if n != size {
			return i, 0, fmt.Errorf("message of %d bytes, want %d", n, size)
		}
	}
	c.in.head.Store(c.in.pos)
	return count, time.Since(start), nil
}

func shmRemoteThr(url string, size, count int) error {
	c, err := shmOpen(url)
	if err != nil {
		return err
	}
	defer c.close()
	body := make([]byte, size)
	for range count {
		if err := c.out.write(body); err != nil {
			return err
		}
	}
	c.out.flush()
	return nil
}

func shmLocalLat(url string, size, count int, ready func()) error {
	c, err := shmCreate(url)
	if err != nil {
		return err
	}
	defer c.close()
	if ready != nil {
		ready()
	}
	buf := make([]byte, size)
	for range count {
		if _, err := c.in.read(buf); err != nil {
			return err
		}
		if err := c.out.write(buf); err != nil {
			return err
		}
		c.out.flush()
	}
	return nil
}

func shmRemoteLat(url string, size, count int) (time.Duration, error) {
	c, err := shmOpen(url)
	if err != nil {
		return 0, err
	}
	defer c.close()
	buf := make([]byte, size)
	start := time.Now()
	for range count {
		if err := c.out.write(buf); err != nil {
			return 0, err
		}
		c.out.flush()
		if _, err := c.in.read(buf); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
