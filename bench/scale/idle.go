package scale

import (
	"io"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// IdleResult is what IdleMemory measured. Per-connection figures count both
// ends (the dialing pipe and the accepted one, in the same process) and not
// the sockets themselves, which are counted apart.
type IdleResult struct {
	Transport, Dialect string
	Conns              int
	// HeapPerConn and StackPerConn are bytes (HeapAlloc after a GC,
	// StackInuse); GoroutinesPerConn counts goroutines.
	HeapPerConn, StackPerConn, GoroutinesPerConn float64
	// The same for one unconnected push socket.
	HeapPerSocket, StackPerSocket, GoroutinesPerSocket float64
}

// IdleMemory makes a pull socket listening on transport and n push sockets
// dialing it in dialect, waits until every connection is up and idle, and
// measures the memory and goroutines the connections hold. If profile is not
// nil, a heap profile taken with the connections up is written to it.
func IdleMemory(transport, dialect string, n int, profile io.Writer) (res IdleResult, err error) {
	res = IdleResult{Transport: transport, Dialect: dialect, Conns: n}
	a, err := newAddrs()
	if err != nil {
		return res, err
	}
	defer a.cleanup()
	l, err := pull.New()
	if err != nil {
		return res, err
	}
	ss := make([]*socket.Socket, n)
	defer func() { closeAll(append(ss, l)) }()
	ln, err := l.Listen(a.url(transport))
	if err != nil {
		return res, err
	}
	m0 := readMem()
	for i := range ss {
		if ss[i], err = push.New(dialOpts(dialect)...); err != nil {
			return res, err
		}
	}
	m1 := readMem()
	for _, s := range ss {
		if _, err := s.Dial(ln.URL()); err != nil {
			return res, err
		}
	}
	if err := waitPipes(l, n); err != nil {
		return res, err
	}
	for _, s := range ss {
		if err := waitPipes(s, 1); err != nil {
			return res, err
		}
	}
	time.Sleep(100 * time.Millisecond) // let handshake leftovers finish
	// A stream pipe's writer goroutine ends after a second or two with
	// nothing to write: wait for the connections to be idle in that sense
	// too, until the count stops falling.
	for i, last := 0, runtime.NumGoroutine(); i < 40; i++ {
		time.Sleep(100 * time.Millisecond)
		now := runtime.NumGoroutine()
		if now == last && now <= m1.goroutines+2*n {
			break
		}
		last = now
	}
	m2 := readMem()
	if profile != nil {
		if err := pprof.Lookup("heap").WriteTo(profile, 0); err != nil {
			return res, err
		}
	}
	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) }
	res.HeapPerSocket, res.StackPerSocket = per(m0.heap, m1.heap), per(m0.stack, m1.stack)
	res.GoroutinesPerSocket = float64(m1.goroutines-m0.goroutines) / float64(n)
	res.HeapPerConn, res.StackPerConn = per(m1.heap, m2.heap), per(m1.stack, m2.stack)
	res.GoroutinesPerConn = float64(m2.goroutines-m1.goroutines) / float64(n)
	return res, nil
}
