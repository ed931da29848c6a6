package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/mqwire/mqwire/bench/internal/cpupair"
	"github.com/mqwire/mqwire/bench/internal/units"
	"github.com/mqwire/mqwire/bench/perfpeer"
)

// pairFunc runs one measurement: perfpeer.Pair, or a stand-in in tests.
type pairFunc func(ctx context.Context, local, remote perfpeer.End, kind, transport string, size, count int) (perfpeer.Result, error)

// cell is one (kind, transport, size) of the matrix.
type cell struct {
	kind      string // "thr" or "lat"
	transport string
	size      int
}

// runKey is one end in one cell.
type runKey struct {
	cell
	end string
}

// measurement is what the rounds of one end in one cell gave.
type measurement struct {
	count  int       // messages or round trips per run
	values []float64 // msg/s (thr) or one-way us (lat), one per successful run
	errs   []string  // one per failed run: "timeout" or the error
	// recounts is how many times count was raised because a run was
	// far shorter than the target (recount).
	recounts int
}

// median is the median of the values, NaN when there are none.
func (m *measurement) median() float64 {
	if m == nil {
		return math.NaN()
	}
	return median(m.values)
}

// spread is half the range of the values over their median, as a fraction.
func (m *measurement) spread() float64 {
	if m == nil || len(m.values) < 2 {
		return 0
	}
	lo, hi := m.values[0], m.values[0]
	for _, v := range m.values {
		lo, hi = min(lo, v), max(hi, v)
	}
	return (hi - lo) / 2 / m.median()
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// matrix runs the comparison.
type matrix struct {
	cfg  config
	ends []perfpeer.End
	pair pairFunc

	calib   map[runKey]calibration
	results map[runKey]*measurement

	// cpuProbe, if set, measures the machine's two CPUs before each
	// cell's rounds (cpupair.Measure); states holds what it found.
	cpuProbe func() (cpupair.Pair, error)
	states   map[cell]cpuState

	calTook, measureTook time.Duration
}

// cpuState is what the CPU probe found before a cell's rounds: the pair's
// figures, or why there are none.
type cpuState struct {
	pair cpupair.Pair
	err  string
}

// probeCell measures the two CPUs for cell c (the i-th of n), if the
// matrix has a probe.
func (m *matrix) probeCell(i, n int, c cell) {
	if m.cpuProbe == nil {
		return
	}
	if m.states == nil {
		m.states = make(map[cell]cpuState)
	}
	st := probeCPUs(m.cpuProbe)
	m.states[c] = st
	fmt.Fprintf(m.cfg.log, "[%d/%d] %s %s %s: the two CPUs: %v\n", i+1, n, c.kind, c.transport, units.Size(c.size), st)
}

// calibration is what the probe of one end in one cell found.
type calibration struct {
	count    int
	err      string        // the probe failed: the end is left out of the cell
	overhead time.Duration // a run's wall time beyond its measured part
}

// cells lists the matrix's cells in the order they run: by kind, then by
// size, every transport of a size in turn. Cells compared with each other
// (shm against ipc) so run next to each other, and the large sizes, after
// which this machine ran slower for minutes (see measure), last of their
// kind.
func (m *matrix) cells() []cell {
	var out []cell
	for _, k := range m.cfg.kinds {
		for _, s := range m.cfg.sizes {
			for _, t := range m.cfg.transports {
				out = append(out, cell{k, t, s})
			}
		}
	}
	return out
}

// endsFor lists the built ends that support c's transport.
func (m *matrix) endsFor(c cell) []perfpeer.End {
	var out []perfpeer.End
	for _, e := range m.ends {
		if e.Supports(c.transport) {
			out = append(out, e)
		}
	}
	return out
}

// Counts: the first probe's, and the bounds of any run's.
const (
	quickThrCount = 2000
	quickLatCount = 200
	minThrCount   = 20
	maxThrCount   = 50_000_000
	minLatCount   = 10
	maxLatCount   = 2_000_000
)

func firstProbe(c cell) int {
	if c.kind == "lat" {
		switch {
		case c.size <= 1<<10:
			return 200
		case c.size <= 64<<10:
			return 50
		}
		return 20
	}
	return max(minThrCount, min(2000, (8<<20)/c.size))
}

func clampCount(kind string, n float64) int {
	lo, hi := minThrCount, maxThrCount
	if kind == "lat" {
		lo, hi = minLatCount, maxLatCount
	}
	if math.IsNaN(n) || n < float64(lo) {
		return lo
	}
	if n > float64(hi) {
		return hi
	}
	return int(n)
}

// perSecond is how many messages (thr) or round trips (lat) a second r
// stands for.
func perSecond(kind string, r perfpeer.Result) float64 {
	if kind == "lat" {
		if r.LatencyUS <= 0 {
			return math.NaN()
		}
		return 1e6 / (2 * r.LatencyUS)
	}
	return r.MsgPerSec
}

// runOne runs one end in one cell with the run timeout.
func (m *matrix) runOne(ctx context.Context, e perfpeer.End, c cell, count int) (perfpeer.Result, time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, m.cfg.timeout)
	defer cancel()
	t0 := time.Now()
	r, err := m.pair(rctx, e, e, c.kind, c.transport, c.size, count)
	wall := time.Since(t0)
	if err != nil && ctx.Err() == nil && (rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
		err = errTimeout
	}
	return r, wall, err
}

var errTimeout = errors.New("timeout")

// calibrateCell picks every end's count in c with short probes, so that a
// run takes about cfg.target (fixed counts with -quick).
func (m *matrix) calibrateCell(ctx context.Context, c cell) error {
	if m.calib == nil {
		m.calib = make(map[runKey]calibration)
	}
	t0 := time.Now()
	defer func() { m.calTook += time.Since(t0) }()
	for _, e := range m.endsFor(c) {
		if m.cfg.quick {
			n := quickThrCount
			if c.kind == "lat" {
				n = quickLatCount
			}
			m.calib[runKey{c, e.Name}] = calibration{count: n}
			continue
		}
		cal := m.probe(ctx, e, c)
		if err := ctx.Err(); err != nil {
			return err
		}
		m.calib[runKey{c, e.Name}] = cal
		if cal.err != "" {
			fmt.Fprintf(m.cfg.log, "  %s %s %s %-12s probe failed: %s\n", c.kind, c.transport, units.Size(c.size), e.Name, firstLine(cal.err))
		}
	}
	return nil
}

// calibrated reports whether c's ends have their counts.
func (m *matrix) calibrated(c cell) bool {
	for _, e := range m.endsFor(c) {
		if _, ok := m.calib[runKey{c, e.Name}]; !ok {
			return false
		}
	}
	return true
}

func (m *matrix) probe(ctx context.Context, e perfpeer.End, c cell) calibration {
	count := firstProbe(c)
	retried := false
	var prev probePoint // the probe before, if any
	for try := 0; ; try++ {
		r, wall, err := m.runOne(ctx, e, c, count)
		if err != nil && !retried && ctx.Err() == nil {
			// A loaded machine makes ends hang now and then: one more try.
			retried = true
			r, wall, err = m.runOne(ctx, e, c, count)
		}
		if err != nil {
			return calibration{err: err.Error()}
		}
		rate := perSecond(c.kind, r)
		if math.IsNaN(rate) || rate <= 0 {
			return calibration{err: fmt.Sprintf("probe gave no rate: %+v", r)}
		}
		measured := time.Duration(float64(count) / rate * float64(time.Second))
		if measured < m.cfg.target/10 && try < 3 {
			// Too short to trust (a short burst may sit in the queues
			// and arrive at once): probe again, aiming at a fifth of the
			// target but growing at most tenfold.
			prev = probePoint{count, measured}
			count = min(max(clampCount(c.kind, rate*m.cfg.target.Seconds()/5), 2*count), 10*count)
			continue
		}
		if prev.count == 0 && try < 3 {
			// One probe gives no steady rate: probe again, twice as long.
			prev = probePoint{count, measured}
			count = clampCount(c.kind, 2*float64(count))
			continue
		}
		return calibration{
			count:    clampCount(c.kind, steadyRate(prev, probePoint{count, measured})*m.cfg.target.Seconds()),
			overhead: max(0, wall-measured),
		}
	}
}

// probePoint is one probe: its count and how long the end said it took.
type probePoint struct {
	count    int
	measured time.Duration
}

// steadyRate is the rate of the last probe without its start-up: the rate
// of the messages it ran beyond the probe before (each probe is a new
// process, with the same start-up), when that is higher than its own
// rate, up to four times that. 1 MiB REQ/REP over tcp: an mqwire end's
// first round trips take 20-40 ms in all (fresh memory for the first
// large messages), so a 20-round-trip probe gave a rate a third of the
// steady one and runs of 100-200 ms, of which the start-up was a quarter.
func steadyRate(prev, last probePoint) float64 {
	rate := float64(last.count) / last.measured.Seconds()
	if prev.count == 0 || last.count <= prev.count || last.measured <= prev.measured {
		return rate
	}
	marginal := float64(last.count-prev.count) / (last.measured - prev.measured).Seconds()
	return min(max(rate, marginal), 4*rate)
}

// measure runs the matrix: in every cell, cfg.runs rounds of every
// calibrated end, in an order shuffled each round (roundOrder). A cell
// is calibrated just before its rounds, unless it already is: after cells
// that move large messages this machine ran every end slower for minutes
// (see docs/benchmarks.md), so a count probed then does not fit a cell
// measured long after, nor a probe of every cell up front the first cells.
func (m *matrix) measure(ctx context.Context) error {
	m.results = make(map[runKey]*measurement)
	t0, cal0 := time.Now(), m.calTook
	defer func() { m.measureTook = time.Since(t0) - (m.calTook - cal0) }()
	cells := m.cells()
	for i, c := range cells {
		if !m.calibrated(c) {
			if err := m.calibrateCell(ctx, c); err != nil {
				return err
			}
		}
		m.probeCell(i, len(cells), c)
		var ends []perfpeer.End
		for _, e := range m.endsFor(c) {
			if cal := m.calib[runKey{c, e.Name}]; cal.err == "" && cal.count > 0 {
				ends = append(ends, e)
				m.results[runKey{c, e.Name}] = &measurement{count: cal.count}
			}
		}
		for round := 0; round < m.cfg.runs; round++ {
			for _, e := range roundOrder(ends, i, round) {
				k := runKey{c, e.Name}
				res := m.results[k]
				r, _, err := m.runOne(ctx, e, c, res.count)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				for err == nil && m.recount(c, e, res, r) {
					r, _, err = m.runOne(ctx, e, c, res.count)
					if ctx.Err() != nil {
						return ctx.Err()
					}
				}
				if err != nil {
					res.errs = append(res.errs, err.Error())
					fmt.Fprintf(m.cfg.log, "[%d/%d] %s %s %s round %d/%d: %-12s %s\n", i+1, len(cells), c.kind, c.transport, units.Size(c.size), round+1, m.cfg.runs, e.Name, firstLine(err.Error()))
					continue
				}
				v := r.MsgPerSec
				unit := "msg/s"
				if c.kind == "lat" {
					v, unit = r.LatencyUS, "us"
				}
				res.values = append(res.values, v)
				fmt.Fprintf(m.cfg.log, "[%d/%d] %s %s %s round %d/%d: %-12s %.6g %s\n", i+1, len(cells), c.kind, c.transport, units.Size(c.size), round+1, m.cfg.runs, e.Name, v, unit)
			}
		}
	}
	return nil
}

// maxRecounts bounds how often recount raises one end's count in a cell.
const maxRecounts = 3

// recount raises res.count when the run r took less than a quarter of the
// target, at most maxRecounts times: a probe can catch an end's start-up
// (the first tens of milliseconds of a connection, slower than the rest),
// and a count aimed at that rate gives runs that measure mostly the
// start-up. The count goes to what r's rate gives for the target, and at
// least tenfold, since a short run's rate still counts its start-up. It
// reports whether it raised the count; the short run is then not kept.
func (m *matrix) recount(c cell, e perfpeer.End, res *measurement, r perfpeer.Result) bool {
	if m.cfg.quick || res.recounts >= maxRecounts {
		return false
	}
	rate := perSecond(c.kind, r)
	if math.IsNaN(rate) || rate <= 0 {
		return false
	}
	measured := time.Duration(float64(res.count) / rate * float64(time.Second))
	n := clampCount(c.kind, max(rate*m.cfg.target.Seconds(), 10*float64(res.count)))
	if measured >= m.cfg.target/4 || n <= res.count {
		return false
	}
	fmt.Fprintf(m.cfg.log, "  %s %s %s %-12s run took %s: count %d -> %d, run again\n", c.kind, c.transport, units.Size(c.size), e.Name, measured.Round(time.Millisecond), res.count, n)
	res.count = n
	res.recounts++
	return true
}

// roundOrder returns the order of the ends in round r of cell i: as listed
// in round 0, then shuffled, the same way in every run of the harness (the
// seed is the cell and the round). Rotating the list each round, as the
// harness once did, keeps every end behind the same end in every round,
// and an end's run is affected by what ran just before it (memory freed,
// caches and page reclaim after large messages); shuffling spreads that
// over all ends instead of charging it to one.
func roundOrder(ends []perfpeer.End, i, r int) []perfpeer.End {
	out := append([]perfpeer.End(nil), ends...)
	if r > 0 {
		rng := rand.New(rand.NewPCG(uint64(i), uint64(r)))
		rng.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	}
	return out
}

// value is the median of end in c, NaN when there is none.
func (m *matrix) value(c cell, end string) float64 {
	return m.results[runKey{c, end}].median()
}

// status says why end has no figure in c ("" when it has one or does not
// take part).
func (m *matrix) status(c cell, end string) string {
	k := runKey{c, end}
	if cal, ok := m.calib[k]; ok && cal.err != "" {
		if cal.err == errTimeout.Error() {
			return "timeout"
		}
		return "failed"
	}
	res := m.results[k]
	if res == nil {
		return ""
	}
	if len(res.values) == 0 && len(res.errs) > 0 {
		for _, e := range res.errs {
			if e != errTimeout.Error() {
				return "failed"
			}
		}
		return "timeout"
	}
	return ""
}
