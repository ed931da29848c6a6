// Command mqcompare runs mqwire's perf end side by side with its peers' —
// libzmq and nng (C, built with gcc at run time), go-zeromq/zmq4 and mangos
// v3 (Go), and plain-go, a reference with no messaging library — and writes
// the results, ratios and plots into a directory (docs/ by default):
//
//	go run ./bench/cmd/mqcompare            # the whole matrix, some minutes
//	go run ./bench/cmd/mqcompare -quick     # 64 B over tcp, one round: a smoke run
//
// The matrix is ends x sizes x transports x {throughput, latency}. mqwire
// runs in both dialects: mqwire-sp (against nng and mangos) and mqwire-zmtp
// (against libzmq and zmq4). Every end runs against itself (its local and
// remote roles, or its inproc roles), through bench/perfpeer.
//
// Because shared machines are noisy, each cell (size, transport, kind) runs
// every end once per round, in an order shuffled from round to round, and
// reports the median over the rounds. Counts are calibrated per end, size,
// transport and kind by a short probe just before the cell's rounds, so that
// each run takes about -target;
// a run that takes longer than -timeout is killed and recorded as a timeout.
// Before the run, after it and before each cell it measures the machine's
// first two CPUs (bench/internal/cpupair: a cache line's round trip between
// them, and how much a compute loop slows with both busy), which say which
// of a shared machine's stretches the cell ran in.
//
// Flags:
//
//	-out dir          where benchmarks.md and the bench-*.svg plots go (default docs)
//	-sizes list       message sizes in bytes (default 64,1024,65536,1048576)
//	-transports list  inproc, ipc, tcp and any other transport the ends list,
//	                  shm for one (default inproc,ipc,tcp, plus shm when an end supports it)
//	-kinds list       thr, lat or both (default thr,lat)
//	-ends list        which ends to run (default all of them)
//	-runs n           rounds per cell (default 3)
//	-target d         how long one run should take (default 500ms)
//	-timeout d        longest one run may take before it is killed (default 10s)
//	-allocs           measure mqwire's allocations per message with the
//	                  bench package's go test benchmarks (default true)
//	-require-all      fail when an end cannot be built, instead of reporting it missing
//	-quick            64 B, tcp, one round, small fixed counts (overrides the above)
//	-label text       a note printed at the top of the report (e.g. "loaded machine")
//
// The report keeps the text between the markers <!-- notes --> and
// <!-- /notes --> of the file it replaces: that is where profile findings go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mqwire/mqwire/bench/internal/cpupair"
	"github.com/mqwire/mqwire/bench/perfpeer"
)

// config is what the flags say.
type config struct {
	out        string
	sizes      []int
	transports []string // nil: the default, decided once the ends are known
	kinds      []string
	ends       []string // nil: all
	runs       int
	target     time.Duration
	timeout    time.Duration
	allocs     bool
	requireAll bool
	quick      bool
	label      string
	log        io.Writer
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mqcompare:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "mqcompare:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("mqcompare", flag.ContinueOnError)
	var cfg config
	var sizes, transports, kinds, ends string
	fs.StringVar(&cfg.out, "out", "docs", "directory for benchmarks.md and the bench-*.svg plots")
	fs.StringVar(&sizes, "sizes", "64,1024,65536,1048576", "message sizes in bytes, comma-separated")
	fs.StringVar(&transports, "transports", "", "transports, comma-separated (default inproc,ipc,tcp, plus shm when an end supports it)")
	fs.StringVar(&kinds, "kinds", "thr,lat", "thr (throughput), lat (latency) or both")
	fs.StringVar(&ends, "ends", "", "ends to run, comma-separated (default all: mqwire-sp,mqwire-zmtp,libzmq,nng,zmq4,mangos,plain-go)")
	fs.IntVar(&cfg.runs, "runs", 3, "rounds per cell; the figure is the median")
	fs.DurationVar(&cfg.target, "target", 500*time.Millisecond, "how long one run should take")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "longest one run may take before it is killed")
	fs.BoolVar(&cfg.allocs, "allocs", true, "measure mqwire's allocations per message (go test benchmarks of ./bench)")
	fs.BoolVar(&cfg.requireAll, "require-all", false, "fail when an end cannot be built")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: 64 B, tcp, one round, small counts")
	fs.StringVar(&cfg.label, "label", "", "a note for the top of the report")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.sizes, err = parseSizes(sizes); err != nil {
		return cfg, err
	}
	cfg.transports = splitList(transports)
	cfg.kinds = splitList(kinds)
	for _, k := range cfg.kinds {
		if k != "thr" && k != "lat" {
			return cfg, fmt.Errorf("-kinds: %q is neither thr nor lat", k)
		}
	}
	if len(cfg.kinds) == 0 {
		return cfg, errors.New("-kinds: empty")
	}
	cfg.ends = splitList(ends)
	if cfg.runs < 1 {
		return cfg, errors.New("-runs must be at least 1")
	}
	if cfg.quick {
		cfg.sizes = []int{64}
		cfg.transports = []string{"tcp"}
		cfg.runs = 1
	}
	cfg.log = os.Stderr
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-sizes: %q is not a size in bytes", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("-sizes: empty")
	}
	return out, nil
}

// run builds the ends, runs the matrix and writes the report.
func run(ctx context.Context, cfg config) error {
	start := time.Now()
	load := loadAvg() // before the builds below add theirs
	dir, err := os.MkdirTemp("", "mqcompare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(cfg.log, "building the perf ends ...")
	ends, err := perfpeer.Build(ctx, dir)
	if err != nil {
		return err
	}
	ends, err = selectEnds(ends, cfg.ends)
	if err != nil {
		return err
	}
	for _, e := range ends {
		if e.Err != nil {
			fmt.Fprintf(cfg.log, "  %-12s missing: %v\n", e.Name, firstLine(e.Err.Error()))
			if cfg.requireAll {
				return fmt.Errorf("%s could not be built: %w", e.Name, e.Err)
			}
		} else {
			argv := append([]string{filepath.Base(e.Argv[0])}, e.Argv[1:]...)
			fmt.Fprintf(cfg.log, "  %-12s %s (%s; %s)\n", e.Name, strings.Join(argv, " "), e.Dialect, strings.Join(e.Transports, ","))
		}
	}
	if cfg.transports == nil {
		cfg.transports = defaultTransports(ends)
	}

	// The machine as the run begins, and its two CPUs before, during
	// (each cell) and after.
	mach := describeMachine(ctx)
	mach.loadBefore = load
	mach.cpusBefore = probeCPUs(cpupair.Measure)
	m := &matrix{cfg: cfg, ends: ends, pair: perfpeer.Pair, cpuProbe: cpupair.Measure}
	if err := m.measure(ctx); err != nil {
		return err
	}
	mach.cpusAfter = probeCPUs(cpupair.Measure)
	var allocs []allocResult
	var allocErr error
	if cfg.allocs {
		fmt.Fprintln(cfg.log, "measuring mqwire's allocations per message (go test -bench) ...")
		allocs, allocErr = measureAllocs(ctx, cfg)
		if allocErr != nil {
			fmt.Fprintf(cfg.log, "  allocations: %v\n", allocErr)
		}
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	rep := &report{
		cfg:      cfg,
		m:        m,
		machine:  mach,
		allocs:   allocs,
		allocErr: allocErr,
		started:  start,
		took:     time.Since(start),
	}
	prev, _ := os.ReadFile(filepath.Join(cfg.out, "benchmarks.md"))
	rep.notes = keepNotes(string(prev))
	plots := rep.plots()
	for name, svg := range plots {
		if err := os.WriteFile(filepath.Join(cfg.out, name), svg, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(cfg.out, "benchmarks.md"), rep.markdown(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(cfg.log, "wrote %s and %d plots in %s\n", filepath.Join(cfg.out, "benchmarks.md"), len(plots), time.Since(start).Round(time.Second))
	return nil
}

// endOrder is the order ends are listed in tables and plots.
var endOrder = []string{"mqwire-sp", "mqwire-zmtp", "libzmq", "nng", "zmq4", "mangos", plainEnd}

// selectEnds keeps the ends named in names (all when names is empty).
func selectEnds(ends []perfpeer.End, names []string) ([]perfpeer.End, error) {
	if len(names) == 0 {
		return ends, nil
	}
	var out []perfpeer.End
	for _, n := range names {
		found := false
		for _, e := range ends {
			if e.Name == n {
				out = append(out, e)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("-ends: no end called %q", n)
		}
	}
	return out, nil
}

// defaultTransports is inproc, ipc and tcp, plus every other transport
// (shm, once there is one) that a built end lists.
func defaultTransports(ends []perfpeer.End) []string {
	out := []string{"inproc", "ipc", "tcp"}
	for _, e := range ends {
		if e.Err != nil {
			continue
		}
		for _, t := range e.Transports {
			if !contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

func contains[T comparable](list []T, s T) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
