// Package cpupair measures how the machine's first two CPUs relate at the
// moment: how long a cache line takes to go from one to the other and
// back, and how much slower a compute loop runs on both at once than on
// one alone. On a shared virtual machine both change from minute to
// minute (two vCPUs may sit on cores far apart, near each other, or on
// the two threads of one core), and they decide how fast a message moves
// between two busy threads: a hand-over between cores is a few cache-line
// transfers, and a busy pair of threads that share one core's execution
// units each runs at about half speed. The benchmark harness measures
// them beside every cell so that its figures can be read against them.
package cpupair

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Pair is what Measure found.
type Pair struct {
	// CPUs are the two CPUs measured, and Pinned says whether the
	// measuring threads were bound to them (Linux); when not, the
	// threads ran wherever the system put them.
	CPUs   [2]int
	Pinned bool
	// LineRoundTrip is the median time for a cache line written on one
	// CPU to be seen on the other and answered there.
	LineRoundTrip time.Duration
	// SharedCompute is how much longer a fixed compute loop takes on both
	// CPUs at once than on one alone (median of its runs): about 1 when
	// each CPU has its own core, about 2 when the two share one core.
	SharedCompute float64
}

// String gives the two measures in a few words, as the harness prints
// them.
func (p Pair) String() string {
	return fmt.Sprintf("line round trip %s, compute %.2fx with both busy", fmtNS(p.LineRoundTrip), p.SharedCompute)
}

func fmtNS(d time.Duration) string {
	if d < 10*time.Microsecond {
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	}
	return fmt.Sprintf("%.1f us", float64(d.Nanoseconds())/1e3)
}

// ErrOneCPU is Measure's error on a machine, or a process, with fewer
// than two CPUs to run on.
var ErrOneCPU = errors.New("cpupair: fewer than two CPUs to measure")

// ErrBusy is Measure's error when a round of the ping-pong took longer
// than roundLimit: the two threads did not run at once (other work held
// a CPU), so there is no round trip to speak of, and Measure does not
// wait for one.
var ErrBusy = errors.New("cpupair: the two CPUs were not both free to measure")

// roundLimit bounds a round of the ping-pong, which takes about 10 ms on
// an idle machine (a variable for the tests).
var roundLimit = 500 * time.Millisecond

// Rounds of each measure: the figures are medians over them.
const (
	pingRounds    = 7
	pingsPerRound = 20000
	computeRounds = 3
	computeIters  = 20_000_000
	spinsPerLook  = 1 << 12
)

// Measure measures the first two CPUs the process may run on. It takes
// about a quarter of a second on an idle machine and keeps both CPUs busy
// meanwhile. Its threads end when it returns.
func Measure() (Pair, error) {
	cpus, pinned := firstTwo()
	if runtime.GOMAXPROCS(0) < 2 || cpus[0] == cpus[1] {
		return Pair{}, ErrOneCPU
	}
	p := Pair{CPUs: cpus, Pinned: pinned}
	rts := make([]time.Duration, 0, pingRounds)
	for range pingRounds {
		rt, err := pingPong(cpus, pinned)
		if err != nil {
			return Pair{}, err
		}
		rts = append(rts, rt)
	}
	slices.Sort(rts)
	p.LineRoundTrip = rts[len(rts)/2]
	ratios := make([]float64, 0, computeRounds)
	for range computeRounds {
		alone := onThreads(cpus[:1], pinned)
		both := onThreads(cpus[:], pinned)
		ratios = append(ratios, float64(both)/float64(alone))
	}
	slices.Sort(ratios)
	p.SharedCompute = ratios[len(ratios)/2]
	return p, nil
}

// line is a cache line's worth of room around the ping-pong's word, so
// that nothing else shares its line.
type line struct {
	_ [64]byte
	v atomic.Int64
	_ [56]byte
}

// pingPong returns the mean round trip of pingsPerRound exchanges of one
// word between threads on the two CPUs (the slower side's time).
func pingPong(cpus [2]int, pinned bool) (time.Duration, error) {
	w := new(line)
	var ready sync.WaitGroup
	ready.Add(2)
	start := make(chan struct{})
	type result struct {
		took time.Duration
		err  error
	}
	results := make(chan result, 2)
	for side := range 2 {
		go func() {
			lockTo(cpus[side], pinned)
			ready.Done()
			<-start
			t0 := time.Now()
			err := answer(&w.v, int64(side), pingsPerRound, t0.Add(roundLimit))
			results <- result{time.Since(t0), err}
			// The thread is bound to one CPU: it ends with this goroutine.
		}()
	}
	ready.Wait()
	close(start)
	var took time.Duration
	var err error
	for range 2 {
		r := <-results
		took = max(took, r.took)
		if err == nil {
			err = r.err
		}
	}
	return took / pingsPerRound, err
}

// answer waits n times for v to reach its next value of this side's
// parity (from is 0 or 1) and writes the one after it. It fails when the
// deadline passes, and then tells the other side so (-1), which fails at
// once.
func answer(v *atomic.Int64, from int64, n int, deadline time.Time) error {
	for i := from; i < 2*int64(n); i += 2 {
		for spins := 1; ; spins++ {
			x := v.Load()
			if x == i {
				break
			}
			if x < 0 {
				return ErrBusy
			}
			if spins%spinsPerLook == 0 && time.Now().After(deadline) {
				v.Store(-1)
				return ErrBusy
			}
		}
		v.Store(i + 1)
	}
	return nil
}

// onThreads runs the compute loop on a thread bound to each of cpus at
// once and returns the mean time they took.
func onThreads(cpus []int, pinned bool) time.Duration {
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, c := range cpus {
		wg.Go(func() {
			lockTo(c, pinned)
			t0 := time.Now()
			sink.Add(compute(computeIters))
			total.Add(int64(time.Since(t0)))
		})
	}
	wg.Wait()
	return time.Duration(total.Load() / int64(len(cpus)))
}

var sink atomic.Uint64

// compute is a chain of dependent multiply-adds: a fixed amount of work
// for one core's execution units, touching no memory.
func compute(n int) uint64 {
	x := uint64(1)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}
