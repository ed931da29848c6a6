package scale

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// setupTimeout bounds connecting; runTimeout bounds one measurement.
const (
	setupTimeout = 60 * time.Second
	runTimeout   = 5 * time.Minute
)

// addrs hands out fresh addresses; ipc sockets go in one temporary
// directory, removed by cleanup.
type addrs struct {
	dir string
}

var urlSeq atomic.Int64

// newAddrs makes a directory for ipc socket files.
func newAddrs() (*addrs, error) {
	dir, err := os.MkdirTemp("", "mqs")
	if err != nil {
		return nil, err
	}
	return &addrs{dir: dir}, nil
}

func (a *addrs) cleanup() { os.RemoveAll(a.dir) }

// url returns a fresh listening address on transport; tcp uses port 0, so
// read the bound address from the listener.
func (a *addrs) url(transport string) string {
	n := urlSeq.Add(1)
	switch transport {
	case "inproc":
		return fmt.Sprintf("inproc://scale-%d-%d", os.Getpid(), n)
	case "ipc":
		return "ipc://" + filepath.Join(a.dir, fmt.Sprintf("%d.s", n))
	default:
		return "tcp://127.0.0.1:0"
	}
}

// waitFor polls cond until it holds or setupTimeout passes.
func waitFor(what string, cond func() bool) error {
	deadline := time.Now().Add(setupTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not done after %v", what, setupTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// waitPipes waits until s has at least n pipes.
func waitPipes(s *socket.Socket, n int) error {
	return waitFor(fmt.Sprintf("%s: %d pipes", s.Info().Name, n), func() bool { return s.Stats().Pipes >= n })
}

// closeAll closes every socket.
func closeAll(ss []*socket.Socket) {
	for _, s := range ss {
		if s != nil {
			s.Close()
		}
	}
}

// dialOpts returns the options a dialing socket of dialect needs.
func dialOpts(dialect string) []socket.Option {
	if dialect == "zmtp" {
		return []socket.Option{socket.DialDialect(socket.DialectZMTP)}
	}
	return nil
}

// memSnapshot is what the runtime says of memory, after a GC.
type memSnapshot struct {
	heap, stack uint64 // HeapAlloc, StackInuse
	mallocs     uint64
	goroutines  int
}

// readMem collects garbage (twice, so finalizers run) and reads memory.
func readMem() memSnapshot {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnapshot{heap: ms.HeapAlloc, stack: ms.StackInuse, mallocs: ms.Mallocs, goroutines: runtime.NumGoroutine()}
}

// mallocs returns the number of heap allocations so far, without a GC.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// percentile returns the p-th percentile (0..100) of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds)-1) * p / 100)
	return ds[i]
}

func sortDurations(ds []time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
}

// median returns the median of vs (the upper one of an even count).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
