package cpupair

import (
	"errors"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: nothing to measure")
	}
	before := runtime.NumGoroutine()
	p, err := Measure()
	if errors.Is(err, ErrBusy) {
		t.Skip("the machine is too busy to measure:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CPUs %v (pinned %v): %v", p.CPUs, p.Pinned, p)
	if p.LineRoundTrip <= 0 || p.LineRoundTrip > time.Millisecond {
		t.Errorf("line round trip %v, want between 0 and 1 ms", p.LineRoundTrip)
	}
	// The ratio's value depends on the machine and on what else runs (a
	// loaded machine can slow the loop alone more than both at once).
	if !(p.SharedCompute > 0) || math.IsInf(p.SharedCompute, 0) {
		t.Errorf("shared compute %vx, want a positive figure", p.SharedCompute)
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Measure, %d before", runtime.NumGoroutine(), before)
		}
	}
}

func TestMeasureOneCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if _, err := Measure(); !errors.Is(err, ErrOneCPU) {
		t.Fatalf("Measure with GOMAXPROCS 1: %v, want ErrOneCPU", err)
	}
}

// TestAnswerBusy: a side whose partner never answers gives up at its
// deadline and tells the partner; a side told so gives up at once.
func TestAnswerBusy(t *testing.T) {
	var v atomic.Int64
	if err := answer(&v, 1, 10, time.Now().Add(20*time.Millisecond)); !errors.Is(err, ErrBusy) {
		t.Fatalf("answer with nobody answering: %v, want ErrBusy", err)
	}
	if v.Load() != -1 {
		t.Fatalf("the word is %d after a stall, want -1", v.Load())
	}
	if err := answer(&v, 0, 10, time.Now().Add(time.Hour)); !errors.Is(err, ErrBusy) {
		t.Fatalf("answer after the partner gave up: %v, want ErrBusy", err)
	}
}

func TestString(t *testing.T) {
	p := Pair{LineRoundTrip: 478 * time.Nanosecond, SharedCompute: 1.02}
	if got, want := p.String(), "line round trip 478 ns, compute 1.02x with both busy"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	p.LineRoundTrip = 12500 * time.Nanosecond
	if got, want := p.String(), "line round trip 12.5 us, compute 1.02x with both busy"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
