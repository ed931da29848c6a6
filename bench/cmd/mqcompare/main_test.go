package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/bench/internal/cpupair"
	"github.com/mqwire/mqwire/bench/perfpeer"
	"github.com/mqwire/mqwire/internal/testutil"
)

// TestQuick runs the harness end to end (-quick: 64 B over tcp, one round)
// into a temporary directory, as CI does.
func TestQuick(t *testing.T) {
	dir := t.TempDir()
	prev := "# old\n\n" + notesStart + "\nA profile finding to keep.\n" + notesEnd + "\n"
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.md"), []byte(prev), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-quick", "-out", dir})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cfg.log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	doc, err := os.ReadFile(filepath.Join(dir, "benchmarks.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	wantAll(t, "benchmarks.md", s,
		"**Quick run**", "## Machine", "## Targets (issue 4)", "## Ratios", "## Medians",
		"mqwire-sp", "mqwire-zmtp", "bench-thr-tcp.svg", "bench-lat-tcp.svg",
		"## Allocations per message", "\nA profile finding to keep.\n",
	)
	for _, f := range []string{"bench-thr-tcp.svg", "bench-lat-tcp.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
			t.Errorf("%s: %v %.40q", f, err, b)
		}
	}
	// Every end that was built has figures; a peer that is missing fails
	// under MQWIRE_INTEROP=1 and is reported otherwise.
	for _, name := range endOrder {
		line := lineWith(s, "| "+name+" | ")
		if !strings.Contains(line, "**missing**") {
			continue
		}
		if strings.HasPrefix(name, "mqwire") {
			t.Errorf("%s was not built: %s", name, line)
		} else {
			testutil.NeedPeer(t, name, errors.New(line))
		}
	}
	if strings.Contains(s, "| failed |") || strings.Contains(s, "| timeout |") || strings.Contains(s, "Runs that failed") {
		t.Errorf("a run failed:\n%s\n%s", s, log.String())
	}
}

// lineWith is the first line of s that starts with prefix.
func lineWith(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// fakeEnds are ends that are never run as commands.
func fakeEnds() []perfpeer.End {
	return []perfpeer.End{
		{Name: "mqwire-sp", Argv: []string{"x"}, Dialect: "sp", Transports: []string{"inproc", "tcp"}},
		{Name: "mqwire-zmtp", Argv: []string{"x", "-zmtp"}, Dialect: "zmtp", Transports: []string{"inproc", "tcp"}},
		{Name: "libzmq", Argv: []string{"x"}, Dialect: "zmtp", Transports: []string{"inproc", "tcp"}},
		{Name: "nng", Err: errors.New("no gcc"), Dialect: "sp", Transports: []string{"inproc", "tcp"}},
		{Name: "zmq4", Argv: []string{"x"}, Dialect: "zmtp", Transports: []string{"tcp"}},
	}
}

// TestMatrixShufflesAndTakesMedians runs the matrix on a stand-in for
// perfpeer.Pair: every end runs once a round, in a new order each round, figures are medians, a hung
// end is recorded as a timeout, and the report reads them.
func TestMatrixShufflesAndTakesMedians(t *testing.T) {
	var mu sync.Mutex
	var order []string
	round := map[string]int{}
	pair := func(ctx context.Context, local, remote perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error) {
		if local.Name != remote.Name {
			t.Errorf("pair of %s and %s", local.Name, remote.Name)
		}
		if local.Name == "zmq4" && kind == "lat" {
			<-ctx.Done() // hangs until killed
			return perfpeer.Result{}, fmt.Errorf("zmq4perf: %w", ctx.Err())
		}
		mu.Lock()
		defer mu.Unlock()
		k := local.Name + kind + transport + fmt.Sprint(size)
		n := round[k]
		round[k]++
		if kind == "thr" && transport == "tcp" && size == 64 {
			order = append(order, local.Name)
		}
		base := map[string]float64{"mqwire-sp": 3e6, "mqwire-zmtp": 2e6, "libzmq": 1e6, "zmq4": 1e5}[local.Name]
		// Rounds give base, 3*base, 2*base (for probes too): median 2*base.
		f := []float64{1, 3, 2}[n%3]
		return perfpeer.Result{Size: size, Count: count, MsgPerSec: base * f, LatencyUS: 1e7 / base * f}, nil
	}
	cfg := config{
		sizes: []int{64, 1024}, transports: []string{"inproc", "tcp"}, kinds: []string{"thr", "lat"},
		runs: 3, target: 10 * time.Millisecond, timeout: 50 * time.Millisecond, quick: true, log: io.Discard,
	}
	m := &matrix{cfg: cfg, ends: fakeEnds(), pair: pair}
	if err := calibrateAll(m); err != nil {
		t.Fatal(err)
	}
	if err := m.measure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(order) != 12 {
		t.Fatalf("runs of thr tcp 64 B: %v, want 3 rounds of 4 ends", order)
	}
	if got := strings.Join(order[:4], " "); got != "mqwire-sp mqwire-zmtp libzmq zmq4" {
		t.Errorf("first round: %s, want the ends as listed", got)
	}
	for r := range 3 {
		got := append([]string(nil), order[4*r:4*r+4]...)
		sort.Strings(got)
		if strings.Join(got, " ") != "libzmq mqwire-sp mqwire-zmtp zmq4" {
			t.Errorf("round %d ran %v, want every end once", r, order[4*r:4*r+4])
		}
	}
	c := cell{"thr", "tcp", 64}
	if got := m.value(c, "mqwire-sp"); got != 6e6 {
		t.Errorf("median of mqwire-sp = %g, want 6e6", got)
	}
	if got := m.value(c, "nng"); !math.IsNaN(got) {
		t.Errorf("nng (not built) has a figure: %g", got)
	}
	if st := m.status(cell{"lat", "tcp", 64}, "zmq4"); st != "timeout" {
		t.Errorf("zmq4's hung latency runs: status %q, want timeout", st)
	}

	rep := &report{cfg: cfg, m: m, notes: defaultNotes}
	doc := string(rep.markdown())
	wantAll(t, "report", doc,
		"| mqwire-zmtp / libzmq, tcp, 64 B | 2.00x | ≥ 1.50x | met | 33% above |",
		"| mqwire-sp / libzmq, tcp, 1 KiB | 3.00x | ≥ 1.00x | met | 200% above |",
		"| mqwire-zmtp / libzmq, tcp, 64 B | 0.50x | ≤ 0.80x | met | 38% below |",
		"| mqwire-zmtp / zmq4, tcp, 64 B | 20.00x | ≥ 20.00x | met | 0% above |",
		"| mqwire-sp, inproc, 64 B | 6.00 M msg/s | ≥ 10.00 M msg/s | **missed** | 40% short |",
		"| nng | nng (bench/peers/nngperf.c) | sp | inproc, tcp | **missing**: no gcc |",
		"| 64 B | 6.00 M (384.0 MB/s) ±50% |",
		"timeout",
	)
	plots := rep.plots()
	for _, name := range []string{"bench-thr-inproc.svg", "bench-thr-tcp.svg", "bench-lat-inproc.svg", "bench-lat-tcp.svg"} {
		if len(plots[name]) == 0 {
			t.Errorf("no plot %s (have %d)", name, len(plots))
		}
	}
}

// TestCalibrate checks that probes grow until they are long enough and
// that the count is aimed at the target duration.
func TestCalibrate(t *testing.T) {
	var counts []int
	pair := func(ctx context.Context, local, remote perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error) {
		counts = append(counts, count)
		return perfpeer.Result{Size: size, Count: count, MsgPerSec: 1e6}, nil
	}
	cfg := config{sizes: []int{64}, transports: []string{"tcp"}, kinds: []string{"thr"}, runs: 1,
		target: 500 * time.Millisecond, timeout: time.Second, log: io.Discard}
	m := &matrix{cfg: cfg, ends: fakeEnds()[:1], pair: pair}
	if err := calibrateAll(m); err != nil {
		t.Fatal(err)
	}
	if got := m.calib[runKey{cell{"thr", "tcp", 64}, "mqwire-sp"}].count; got != 500000 {
		t.Errorf("count = %d, want 500000 (1e6 msg/s for 0.5 s)", got)
	}
	if want := []int{2000, 20000, 100000}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("probe counts %v, want %v", counts, want)
	}
}

// slowStartPair stands in for an end with a slow start-up: 20 ms, then
// 1 M msg/s. It appends each run's count to counts.
func slowStartPair(counts *[]int) pairFunc {
	return func(ctx context.Context, local, remote perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error) {
		*counts = append(*counts, count)
		took := 0.020 + float64(count)/1e6
		return perfpeer.Result{Size: size, Count: count, MsgPerSec: float64(count) / took}, nil
	}
}

// TestCalibrateSteadyRate: an end with a slow start-up (20 ms, then
// 1 M msg/s) is calibrated at its steady rate, from the difference of two
// probes, not at a rate its start-up drags down.
func TestCalibrateSteadyRate(t *testing.T) {
	var counts []int
	pair := slowStartPair(&counts)
	cfg := config{sizes: []int{64}, transports: []string{"tcp"}, kinds: []string{"thr"}, runs: 1,
		target: 500 * time.Millisecond, timeout: time.Second, log: io.Discard}
	m := &matrix{cfg: cfg, ends: fakeEnds()[:1], pair: pair}
	if err := calibrateAll(m); err != nil {
		t.Fatal(err)
	}
	got := m.calib[runKey{cell{"thr", "tcp", 64}, "mqwire-sp"}].count
	if math.Abs(float64(got)-500000) > 5000 {
		t.Errorf("count = %d after probes %v, want about 500000 (1e6 msg/s for 0.5 s)", got, counts)
	}
	if len(counts) < 2 {
		t.Errorf("probes %v: want at least two", counts)
	}
}

// TestMeasureRecountsShortRuns: an end with a slow start-up (20 ms, then
// 1 M msg/s) gave its probe a low rate, and a run at the calibrated count
// takes far less than the target; the count is raised until a run is long
// enough, the short runs are not kept, and every figure comes from runs at
// the new count.
func TestMeasureRecountsShortRuns(t *testing.T) {
	var counts []int
	pair := slowStartPair(&counts)
	cfg := config{sizes: []int{64}, transports: []string{"tcp"}, kinds: []string{"thr"}, runs: 3,
		target: 100 * time.Millisecond, timeout: time.Second, log: io.Discard}
	m := &matrix{cfg: cfg, ends: fakeEnds()[:1], pair: pair}
	c := cell{"thr", "tcp", 64}
	m.calib = map[runKey]calibration{{c, "mqwire-sp"}: {count: 200}}
	if err := m.measure(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 200 in 20.2 ms (9.9 k/s): short, tenfold; 2,000 in 22 ms: short,
	// tenfold; 20,000 in 40 ms: long enough, kept, and so are the rest.
	if want := []int{200, 2000, 20000, 20000, 20000}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("run counts %v, want %v", counts, want)
	}
	if got, want := m.value(c, "mqwire-sp"), 20000/0.040; math.Abs(got-want) > 1 {
		t.Errorf("median %g, want %g (the short runs not kept)", got, want)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %g, want %g", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestKeepNotes(t *testing.T) {
	prev := "x\n" + notesStart + "\nkept\ntext\n" + notesEnd + "\ny"
	if got := keepNotes(prev); got != "\nkept\ntext\n" {
		t.Errorf("keepNotes = %q", got)
	}
	if got := keepNotes("no markers"); got != defaultNotes {
		t.Errorf("keepNotes without markers = %q", got)
	}
}

func TestTargetRow(t *testing.T) {
	for _, c := range []struct {
		row        targetRow
		status, by string
	}{
		{targetRow{got: 1.2, want: 1.5, higherBetter: true, unit: "x"}, "missed", "20% short"},
		{targetRow{got: 1.8, want: 1.5, higherBetter: true, unit: "x"}, "met", "20% above"},
		{targetRow{got: 0.6, want: 0.8, unit: "x"}, "met", "25% below"},
		{targetRow{got: 1.0, want: 0.8, unit: "x"}, "missed", "25% over"},
		{targetRow{got: math.NaN(), want: 0.8, unit: "x"}, "no data", ""},
	} {
		if s, b := c.row.status(), c.row.by(); s != c.status || b != c.by {
			t.Errorf("%+v: %q %q, want %q %q", c.row, s, b, c.status, c.by)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	out := []byte(`goos: linux
BenchmarkPushPull/inproc/64B-2   	 5000000	       240.0 ns/op	         0.001000 allocs/msg	   4166666 msg/s	       0 B/op	       0 allocs/op
BenchmarkPushPull/tcp/64B-2      	 1000000	      1034 ns/op	         1.000 allocs/msg	    967118 msg/s	      64 B/op	       1 allocs/op
PASS
`)
	got := parseAllocs(out)
	if len(got) != 2 || got[0] != (allocResult{"inproc", 0.001, 4166666}) || got[1] != (allocResult{"tcp", 1, 967118}) {
		t.Errorf("parseAllocs = %+v", got)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-sizes", "64,1024", "-transports", "tcp,shm", "-runs", "5"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.sizes, cfg.transports, cfg.runs) != "[64 1024] [tcp shm] 5" {
		t.Errorf("parsed %v %v %d", cfg.sizes, cfg.transports, cfg.runs)
	}
	for _, bad := range [][]string{{"-sizes", "x"}, {"-kinds", "foo"}, {"-runs", "0"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) did not fail", bad)
		}
	}
	if got := defaultTransports([]perfpeer.End{{Name: "a", Transports: []string{"tcp", "shm"}}}); fmt.Sprint(got) != "[inproc ipc tcp shm]" {
		t.Errorf("defaultTransports = %v", got)
	}
}

// TestSharedMemoryTargets checks that mqwire over shm is held against
// libzmq over ipc, as issue 5's targets say.
func TestSharedMemoryTargets(t *testing.T) {
	ends := []perfpeer.End{
		{Name: "mqwire-sp", Argv: []string{"x"}, Dialect: "sp", Transports: []string{"ipc", "shm"}},
		{Name: "libzmq", Argv: []string{"x"}, Dialect: "zmtp", Transports: []string{"ipc"}},
	}
	pair := func(_ context.Context, local, _ perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error) {
		r := perfpeer.Result{Size: size, Count: count, MsgPerSec: 1e6, LatencyUS: 50}
		if local.Name == "mqwire-sp" && transport == "shm" {
			r.MsgPerSec, r.LatencyUS = 6e6, 5
		}
		return r, nil
	}
	cfg := config{
		sizes: []int{64}, transports: []string{"ipc", "shm"}, kinds: []string{"thr", "lat"},
		runs: 1, target: 10 * time.Millisecond, timeout: 50 * time.Millisecond, quick: true, log: io.Discard,
	}
	doc := fakeReport(t, cfg, ends, pair)
	wantAll(t, "report", doc,
		"| mqwire-sp shm / libzmq ipc, 64 B | 0.10x | ≤ 0.05x | **missed** |",
		"| mqwire-sp shm / libzmq ipc, 64 B | 6.00x | ≥ 5.00x | met |",
	)
}

// TestMatrixCalibratesEachCellBeforeItsRounds: measure probes a cell's
// ends just before the cell's rounds, not every cell up front, so that a
// cell's counts come from the machine's state when it runs.
func TestMatrixCalibratesEachCellBeforeItsRounds(t *testing.T) {
	var cells []string // the cell of each run, in order
	pair := func(ctx context.Context, local, remote perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error) {
		cells = append(cells, fmt.Sprintf("%s/%d", transport, size))
		return perfpeer.Result{Size: size, Count: count, MsgPerSec: 1e6}, nil
	}
	cfg := config{
		sizes: []int{64, 1 << 20}, transports: []string{"tcp"}, kinds: []string{"thr"},
		runs: 2, target: time.Millisecond, timeout: time.Second, log: io.Discard,
	}
	m := &matrix{cfg: cfg, ends: fakeEnds()[:1], pair: pair}
	if err := m.measure(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The first cell's probes and two rounds, then the second's.
	got := strings.Join(cells, " ")
	second := strings.Index(got, "tcp/1048576")
	if strings.Count(got, "tcp/64 ") < 3 || second < 0 || strings.Contains(got[second:], "tcp/64 ") {
		t.Errorf("cells of the runs: %s", got)
	}
	if m.calTook <= 0 || m.measureTook < 0 {
		t.Errorf("calibration took %v, the rounds %v", m.calTook, m.measureTook)
	}
}

// TestCellsRunSizeBySize: every transport of a size runs before the next
// size, throughput before latency.
func TestCellsRunSizeBySize(t *testing.T) {
	m := &matrix{cfg: config{sizes: []int{64, 1024}, transports: []string{"ipc", "shm"}, kinds: []string{"thr", "lat"}}}
	var got []string
	for _, c := range m.cells() {
		got = append(got, fmt.Sprintf("%s %s %d", c.kind, c.transport, c.size))
	}
	want := "thr ipc 64, thr shm 64, thr ipc 1024, thr shm 1024, lat ipc 64, lat shm 64, lat ipc 1024, lat shm 1024"
	if g := strings.Join(got, ", "); g != want {
		t.Errorf("cells:\n got %s\nwant %s", g, want)
	}
}

// calibrateAll probes every cell up front, as measure does cell by cell,
// so that a test can look at the counts first.
func calibrateAll(m *matrix) error {
	for _, c := range m.cells() {
		if err := m.calibrateCell(context.Background(), c); err != nil {
			return err
		}
	}
	return nil
}

// TestRoundOrder: every round runs every end once, and over a full run's
// rounds no end follows the same end every time, as it did when the order
// was rotated (then an end's run always came after the same other end's).
func TestRoundOrder(t *testing.T) {
	var ends []perfpeer.End
	for _, n := range endOrder {
		ends = append(ends, perfpeer.End{Name: n})
	}
	for cell := range 40 {
		before := map[string]map[string]bool{} // end -> the ends it followed
		prev := ""
		for r := range 5 {
			got := roundOrder(ends, cell, r)
			seen := map[string]bool{}
			for _, e := range got {
				seen[e.Name] = true
				if prev != "" {
					if before[e.Name] == nil {
						before[e.Name] = map[string]bool{}
					}
					before[e.Name][prev] = true
				}
				prev = e.Name
			}
			if len(got) != len(ends) || len(seen) != len(ends) {
				t.Fatalf("cell %d round %d: %v is not every end once", cell, r, got)
			}
		}
		for name, b := range before {
			if len(b) < 2 {
				t.Errorf("cell %d: %s followed only %v in 5 rounds", cell, name, b)
			}
		}
	}
}

// TestPlainColumn: with plain-go in the run, each target it can be measured
// on shows what plain-go gets in place of mqwire; a target it has no measure
// for has no such column.
func TestPlainColumn(t *testing.T) {
	ends := []perfpeer.End{
		{Name: "mqwire-sp", Argv: []string{"x"}, Dialect: "sp", Transports: []string{"inproc", "ipc", "tcp", "shm"}},
		{Name: "libzmq", Argv: []string{"x"}, Dialect: "zmtp", Transports: []string{"inproc", "ipc", "tcp"}},
		{Name: plainEnd, Argv: []string{"x"}, Dialect: "plain", Transports: []string{"inproc", "ipc", "tcp", "shm"}},
	}
	rates := map[string]float64{"mqwire-sp": 2e6, "libzmq": 1e6, plainEnd: 4e6}
	pair := func(_ context.Context, local, _ perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error) {
		return perfpeer.Result{Size: size, Count: count, MsgPerSec: rates[local.Name], LatencyUS: 1e6 / rates[local.Name]}, nil
	}
	cfg := config{
		sizes: []int{64}, transports: []string{"inproc", "ipc", "tcp", "shm"}, kinds: []string{"thr", "lat"}, allocs: true,
		runs: 1, target: 10 * time.Millisecond, timeout: 50 * time.Millisecond, quick: true, log: io.Discard,
	}
	doc := fakeReport(t, cfg, ends, pair)
	wantAll(t, "report", doc,
		"| case | got | target | | by how much | plain-go |",
		"| mqwire-sp shm / libzmq ipc, 64 B | 2.00x | ≥ 5.00x | **missed** | 60% short | 4.00x |",
		"| mqwire, tcp, 64 B | – | ≤ 1 allocs/msg | no data |  |\n", // no plain-go column where it has no measure
		"| mqwire-sp / libzmq, tcp, 64 B | 2.00x | ≥ 1.50x | met | 33% above | 4.00x |",
		"| mqwire-sp / libzmq, tcp, 64 B | 0.50x | ≤ 0.80x | met | 38% below | 0.25x |",
		"| mqwire-sp, inproc, 64 B | 2.00 M msg/s | ≥ 10.00 M msg/s | **missed** | 80% short | 4.00 M msg/s |",
		"| sp / plain-go |",
	)
}

// fakeReport runs the matrix of cfg on pair, a stand-in for perfpeer.Pair,
// and returns the report's markdown.
func fakeReport(t *testing.T, cfg config, ends []perfpeer.End, pair func(context.Context, perfpeer.End, perfpeer.End, string, string, int, int) (perfpeer.Result, error)) string {
	t.Helper()
	m := &matrix{cfg: cfg, ends: ends, pair: pair}
	if err := calibrateAll(m); err != nil {
		t.Fatal(err)
	}
	if err := m.measure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return string((&report{cfg: cfg, m: m, notes: defaultNotes}).markdown())
}

// TestCPUStates: the CPU probe runs before each cell's rounds, its figures
// go into the log and into the medians' last column, a failed probe shows
// as a dash, and the machine table has the probes before and after.
func TestCPUStates(t *testing.T) {
	pair := func(ctx context.Context, local, remote perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error) {
		return perfpeer.Result{Size: size, Count: count, MsgPerSec: 1e6, LatencyUS: 10}, nil
	}
	var log strings.Builder
	cfg := config{sizes: []int{64, 1024}, transports: []string{"tcp"}, kinds: []string{"thr"}, runs: 1,
		target: 100 * time.Millisecond, timeout: time.Second, log: &log}
	probes := 0
	probe := func() (cpupair.Pair, error) {
		probes++
		if probes == 2 {
			return cpupair.Pair{}, cpupair.ErrBusy
		}
		return cpupair.Pair{LineRoundTrip: 463 * time.Nanosecond, SharedCompute: 1.03}, nil
	}
	m := &matrix{cfg: cfg, ends: fakeEnds()[:1], pair: pair, cpuProbe: probe}
	m.calib = map[runKey]calibration{{cell{"thr", "tcp", 64}, "mqwire-sp"}: {count: 1000}, {cell{"thr", "tcp", 1024}, "mqwire-sp"}: {count: 1000}}
	if err := m.measure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if probes != 2 {
		t.Fatalf("%d probes for 2 cells", probes)
	}
	wantAll(t, "log", log.String(),
		"[1/2] thr tcp 64 B: the two CPUs: line round trip 463 ns, compute 1.03x with both busy",
		"[2/2] thr tcp 1 KiB: the two CPUs: not measured: "+cpupair.ErrBusy.Error(),
	)
	rep := &report{cfg: cfg, m: m, notes: defaultNotes, machine: machine{
		cpusBefore: probeCPUs(probe),
		cpusAfter:  cpuState{err: "cpupair: fewer than two CPUs to measure"},
	}}
	doc := string(rep.markdown())
	wantAll(t, "report", doc,
		"| size | mqwire-sp | "+cpusColumn+" |\n|---|---|---|\n",
		"| 64 B | 1.00 M (64.0 MB/s) | 463 ns, 1.03x |",
		"| 1 KiB | 1.00 M (1024.0 MB/s) | – |",
		"| the two CPUs before the run | line round trip 463 ns, compute 1.03x with both busy |",
		"| the two CPUs after the run | not measured: cpupair: fewer than two CPUs to measure |",
	)
}

// wantAll fails t for each of wants that text (what: the report, the log)
// does not contain.
func wantAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, text)
		}
	}
}
