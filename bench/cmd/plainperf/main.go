// Command plainperf is the reference end of bench/perfpeer: libzmq's perf
// roles, argument order and output lines with no messaging library at all,
// so that the harness can show, in the same run, what the machine itself
// allows a Go program:
//
//	plainperf [-pattern P] local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>
//	plainperf [-pattern P] inproc_thr|inproc_lat <size> <count>
//
// Over tcp and ipc (a Unix domain stream socket) the throughput roles
// stream records of a 4-byte big-endian length and the body through 64 KiB
// bufio buffers on one connection, and the latency roles echo the bodies
// bare (both sides know the size) with io.ReadFull and one Write each way.
// inproc hands pointers to bodies over a Go channel as long as the other
// ends' queues (1000) for throughput, and over two channels of one for
// latency, the bodies coming from a sync.Pool. shm (Linux) is a file at
// the URL's path that both processes map, with a bare single-producer
// single-consumer ring of the same records each way, each side spinning
// while it waits (shm_linux.go). That is a plain program's
// best case: nothing is parsed, routed, queued twice or checked, so a
// library can beat it only where it does less work per byte (none can
// over a kernel socket) or hands over in batches (as a stream does).
//
// -pattern is push (the default) for throughput and reqrep (the default)
// for latency; there is nothing else to choose.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mqwire/mqwire/bench/internal/perfcmd"
)

// transports are the URL schemes this end takes (shm added on Linux).
var transports = []string{"inproc", "ipc", "tcp"}

func main() {
	perfcmd.Main(perfcmd.Ends{
		Name:       "plainperf",
		Transports: transports,
		LocalThr:   localThr,
		RemoteThr:  remoteThr,
		LocalLat:   localLat,
		RemoteLat:  remoteLat,
	})
}

// streamBuffer is the bufio buffer size of the throughput roles.
const streamBuffer = 64 << 10

// inprocQueue is the inproc channel's length: the other ends' high-water
// mark.
const inprocQueue = 1000

// dialFor is how long a connecting role retries while the binding one is
// not listening yet (perfpeer starts both at once).
const dialFor = 10 * time.Second

// errPattern refuses a pattern this end does not have.
func errPattern(pattern string) error {
	return fmt.Errorf("plainperf has only push (throughput) and reqrep (latency), not %q", pattern)
}

// network splits a tcp:// or ipc:// url into net's network and address.
func network(url string) (string, string, error) {
	switch {
	case strings.HasPrefix(url, "tcp://"):
		return "tcp", strings.TrimPrefix(url, "tcp://"), nil
	case strings.HasPrefix(url, "ipc://"):
		return "unix", strings.TrimPrefix(url, "ipc://"), nil
	}
	return "", "", fmt.Errorf("plainperf: no transport for %q", url)
}

// accept listens at url, calls ready and returns the one connection it
// accepts.
func accept(url string, ready func()) (net.Conn, error) {
	nw, addr, err := network(url)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen(nw, addr)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	if ready != nil {
		ready()
	}
	return l.Accept()
}

// dial connects to url, retrying for dialFor.
func dial(url string) (net.Conn, error) {
	nw, addr, err := network(url)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(dialFor)
	for {
		c, err := net.Dial(nw, addr)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The inproc roles meet in a registry by url, as inproc sockets do.
var (
	inprocMu sync.Mutex
	inprocs  = map[string]*inprocPair{}
)

// inprocPair is what an inproc binding role registers: the channel the
// messages go through, and for latency the one the echoes come back on.
type inprocPair struct {
	to, back chan *[]byte
	pool     *sync.Pool
}

func register(url string, queue int, size int) *inprocPair {
	p := &inprocPair{
		to:   make(chan *[]byte, queue),
		back: make(chan *[]byte, 1),
		pool: &sync.Pool{New: func() any { b := make([]byte, size); return &b }},
	}
	inprocMu.Lock()
	inprocs[url] = p
	inprocMu.Unlock()
	return p
}

func lookup(url string) (*inprocPair, error) {
	inprocMu.Lock()
	defer inprocMu.Unlock()
	if p := inprocs[url]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("plainperf: nothing bound at %s", url)
}

func isInproc(url string) bool { return strings.HasPrefix(url, "inproc://") }

func isShm(url string) bool { return strings.HasPrefix(url, "shm://") }

func localThr(url, pattern string, size, count int, ready func()) (int, time.Duration, error) {
	if pattern != "push" {
		return 0, 0, errPattern(pattern)
	}
	if isShm(url) {
		return shmLocalThr(url, size, count, ready)
	}
	if isInproc(url) {
		p := register(url, inprocQueue, size)
		ready()
		var start time.Time
		for i := range count {
			b := <-p.to
			if i == 0 {
				start = time.Now()
			}
			if len(*b) != size {
				return i, 0, perfcmd.SizeError(len(*b), size)
			}
			p.pool.Put(b)
		}
		return count, time.Since(start), nil
	}
	c, err := accept(url, ready)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, streamBuffer)
	body := make([]byte, size)
	var hdr [4]byte
	var start time.Time
	for i := range count {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return i, 0, err
		}
		if i == 0 {
			start = time.Now()
		}
		if n := binary.BigEndian.Uint32(hdr[:]); n != uint32(size) {
			return i, 0, perfcmd.SizeError(int(n), size)
		}
		if _, err := io.ReadFull(r, body); err != nil {
			return i, 0, err
		}
	}
	return count, time.Since(start), nil
}

func remoteThr(url, pattern string, size, count int) error {
	if pattern != "push" {
		return errPattern(pattern)
	}
	if isShm(url) {
		return shmRemoteThr(url, size, count)
	}
	if isInproc(url) {
		p, err := lookup(url)
		if err != nil {
			return err
		}
		for range count {
			p.to <- p.pool.Get().(*[]byte)
		}
		return nil
	}
	c, err := dial(url)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(c, streamBuffer)
	body := make([]byte, size)
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(size))
	for range count {
		w.Write(hdr[:])
		w.Write(body)
	}
	// The kernel delivers what was written before a close; wait for the
	// receiver's close all the same, as the other ends' senders do.
	err = w.Flush()
	if err == nil {
		_, err = io.Copy(io.Discard, c)
	}
	return errors.Join(err, c.Close())
}

func localLat(url, pattern string, size, count int, ready func()) error {
	if pattern != "reqrep" {
		return errPattern(pattern)
	}
	if isShm(url) {
		return shmLocalLat(url, size, count, ready)
	}
	if isInproc(url) {
		p := register(url, 1, size)
		ready()
		for range count {
			p.back <- <-p.to
		}
		return nil
	}
	c, err := accept(url, ready)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, size)
	for range count {
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func remoteLat(url, pattern string, size, count int) (time.Duration, error) {
	if pattern != "reqrep" {
		return 0, errPattern(pattern)
	}
	if isShm(url) {
		return shmRemoteLat(url, size, count)
	}
	if isInproc(url) {
		p, err := lookup(url)
		if err != nil {
			return 0, err
		}
		b := p.pool.Get().(*[]byte)
		start := time.Now()
		for range count {
			p.to <- b
			b = <-p.back
		}
		return time.Since(start), nil
	}
	c, err := dial(url)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, size)
	start := time.Now()
	for range count {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
