package perfpeer_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/bench/perfpeer"
	"github.com/mqwire/mqwire/internal/testutil"
)

// Short runs: enough messages to exercise every end, few enough for -race
// on a loaded machine.
const (
	size          = 64
	thrCount      = 20000
	latCount      = 2000
	pubCount      = 500 // below the high-water mark: a publisher may drop beyond it
	pubFloodCount = 200_000
	runTimeout    = 30 * time.Second
)

// thrCountFor is the throughput run's message count for a pair of ends:
// nng's blocking calls hand every message between threads, some 20k msg/s
// on a loaded two-core machine, so its runs are shorter.
func thrCountFor(names ...string) int {
	for _, n := range names {
		if n == "nng" {
			return thrCount / 4
		}
	}
	return thrCount
}

var (
	buildOnce sync.Once
	ends      map[string]perfpeer.End
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// end returns the end called name, building all of them on first use. A
// peer end that could not be built skips or fails t (testutil.NeedPeer);
// mqwire's own ends must build.
func end(t *testing.T, name string) perfpeer.End {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "perfpeer")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var list []perfpeer.End
		list, buildErr = perfpeer.Build(ctx, buildDir)
		ends = make(map[string]perfpeer.End)
		for _, e := range list {
			ends[e.Name] = e
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	e, ok := ends[name]
	if !ok {
		t.Fatalf("Build returned no end %q", name)
	}
	if e.Err != nil {
		if strings.HasPrefix(name, "mqwire") {
			t.Fatalf("%s: %v", name, e.Err)
		}
		testutil.NeedPeer(t, "perf end "+name, e.Err)
	}
	return e
}

var allEnds = []string{"mqwire-sp", "mqwire-zmtp", "libzmq", "nng", "zmq4", "mangos"}

// check runs a pair and checks its result is sane.
func check(t *testing.T, local, remote perfpeer.End, kind, transport string, count int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	r, err := perfpeer.Pair(ctx, local, remote, kind, transport, size, count)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != size || r.Count+r.Lost != count || r.Count < 1 {
		t.Fatalf("result %+v, want size %d and count %d", r, size, count)
	}
	if r.Lost > 0 {
		t.Logf("%s <- %s: %d of %d lost", local.Name, remote.Name, r.Lost, count)
	}
	switch kind {
	case "thr":
		if r.MsgPerSec <= 0 || r.MbPerSec <= 0 {
			t.Fatalf("throughput not positive: %+v", r)
		}
		t.Logf("%s <- %s %s: %.0f msg/s, %.3f Mb/s", local.Name, remote.Name, transport, r.MsgPerSec, r.MbPerSec)
	case "lat":
		if r.LatencyUS <= 0 {
			t.Fatalf("latency not positive: %+v", r)
		}
		t.Logf("%s -> %s %s: %.3f us", remote.Name, local.Name, transport, r.LatencyUS)
	}
}

// withFlags returns e with flags appended to its argv.
func withFlags(e perfpeer.End, flags ...string) perfpeer.End {
	e.Argv = append(append([]string(nil), e.Argv...), flags...)
	return e
}

// TestSelf runs every end against itself over every transport it has,
// plain-go (push and reqrep only) too.
func TestSelf(t *testing.T) {
	for _, name := range append(allEnds[:len(allEnds):len(allEnds)], "plain-go") {
		for _, tr := range []string{"tcp", "ipc", "inproc", "shm", "tls+tcp", "curve+tcp"} {
			for _, kind := range []string{"thr", "lat"} {
				t.Run(fmt.Sprintf("%s/%s/%s", name, tr, kind), func(t *testing.T) {
					t.Parallel()
					e := end(t, name)
					if !e.Supports(tr) {
						t.Skipf("%s does not support %s", name, tr)
					}
					count := thrCountFor(name)
					if kind == "lat" {
						count = latCount
					}
					check(t, e, e, kind, tr, count)
				})
			}
		}
	}
}

// TestPatterns runs every end against itself over tcp with the other
// patterns: pair and pub/sub for throughput, pair for latency.
func TestPatterns(t *testing.T) {
	for _, name := range allEnds {
		for _, c := range []struct{ pattern, kind string }{{"pair", "thr"}, {"pub", "thr"}, {"pair", "lat"}} {
			t.Run(fmt.Sprintf("%s/%s/%s", name, c.pattern, c.kind), func(t *testing.T) {
				t.Parallel()
				if name == "zmq4" && c.pattern == "pub" {
					t.Skip("zmq4perf has no pub sender: zmq4's PUB cannot say when its queue is sent (see bench/cmd/zmq4perf)")
				}
				e := withFlags(end(t, name), "-pattern", c.pattern)
				count := thrCountFor(name)
				switch {
				case c.pattern == "pub":
					count = pubCount
				case c.kind == "lat":
					count = latCount
				}
				check(t, e, e, c.kind, "tcp", count)
			})
		}
	}
}

// TestPubFlood runs every end's pub pattern against itself with far more
// messages than the queues hold: the receiving end stops once they stop
// coming (publishers and SP subscribers drop) and says how many were lost,
// which Pair checks add up to the count sent.
func TestPubFlood(t *testing.T) {
	for _, name := range allEnds {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "zmq4" {
				t.Skip("zmq4perf has no pub sender (see TestPatterns)")
			}
			e := withFlags(end(t, name), "-pattern", "pub")
			check(t, e, e, "thr", "tcp", pubFloodCount)
		})
	}
}

// TestMixed runs mqwire's ends against the other libraries' ends of the
// same dialect, both ways (each end local once and remote once).
func TestMixed(t *testing.T) {
	pairs := [][2]string{
		{"mqwire-zmtp", "libzmq"},
		{"mqwire-sp", "nng"},
		{"mqwire-sp", "mangos"},
		{"mqwire-zmtp", "zmq4"},
	}
	for _, p := range pairs {
		for _, way := range [][2]string{{p[0], p[1]}, {p[1], p[0]}} {
			for _, tr := range []string{"tcp", "ipc", "tls+tcp", "curve+tcp"} {
				for _, kind := range []string{"thr", "lat"} {
					t.Run(fmt.Sprintf("%s-local/%s-remote/%s/%s", way[0], way[1], tr, kind), func(t *testing.T) {
						t.Parallel()
						local, remote := end(t, way[0]), end(t, way[1])
						if !local.Supports(tr) || !remote.Supports(tr) {
							t.Skipf("%s or %s does not support %s", local.Name, remote.Name, tr)
						}
						count := thrCountFor(way[0], way[1])
						if kind == "lat" {
							count = latCount
						}
						check(t, local, remote, kind, tr, count)
					})
				}
			}
		}
	}
}

// TestMixedPatterns runs mqwire's ends against libzmq's and nng's with the
// other patterns, over tcp, both ways.
func TestMixedPatterns(t *testing.T) {
	for _, p := range [][2]string{{"mqwire-zmtp", "libzmq"}, {"mqwire-sp", "nng"}} {
		for _, way := range [][2]string{{p[0], p[1]}, {p[1], p[0]}} {
			for _, c := range []struct{ pattern, kind string }{{"pair", "thr"}, {"pub", "thr"}, {"pair", "lat"}} {
				t.Run(fmt.Sprintf("%s-local/%s-remote/%s/%s", way[0], way[1], c.pattern, c.kind), func(t *testing.T) {
					t.Parallel()
					local := withFlags(end(t, way[0]), "-pattern", c.pattern)
					remote := withFlags(end(t, way[1]), "-pattern", c.pattern)
					count := thrCountFor(way[0], way[1])
					switch {
					case c.pattern == "pub":
						count = pubCount
					case c.kind == "lat":
						count = latCount
					}
					check(t, local, remote, c.kind, "tcp", count)
				})
			}
		}
	}
}

// TestMixedCurve runs mqwire's ZMTP end against libzmq's with -curve, both
// ways, and each against itself: the two share the published keys.
func TestMixedCurve(t *testing.T) {
	for _, way := range [][2]string{{"mqwire-zmtp", "libzmq"}, {"libzmq", "mqwire-zmtp"}, {"mqwire-zmtp", "mqwire-zmtp"}} {
		for _, kind := range []string{"thr", "lat"} {
			t.Run(fmt.Sprintf("%s-local/%s-remote/%s", way[0], way[1], kind), func(t *testing.T) {
				t.Parallel()
				local := withFlags(end(t, way[0]), "-curve")
				remote := withFlags(end(t, way[1]), "-curve")
				count := thrCount
				if kind == "lat" {
					count = latCount
				}
				check(t, local, remote, kind, "tcp", count)
			})
		}
	}
}
