package lazytimer

import (
	"sync"
	"testing"
	"time"
)

// TestTimer: a later deadline leaves the timer where it is, an earlier one
// moves it, an early firing waits for the current deadline, and Stop and
// StopAll leave nothing running.
func TestTimer(t *testing.T) {
	var (
		mu    sync.Mutex
		tm    Timer
		due   time.Time
		fired = make(chan time.Time, 4)
	)
	set := Set{}
	f := func() {
		mu.Lock()
		defer mu.Unlock()
		tm.Fired()
		if tm.Early(due) {
			return
		}
		fired <- time.Now()
	}
	tm.Init(f)
	start := time.Now()
	mu.Lock()
	due = start.Add(40 * time.Millisecond)
	if !tm.Arm(due) {
		t.Fatal("the first Arm did not make the timer")
	}
	set.Add(&tm)
	at := tm.at
	due = start.Add(120 * time.Millisecond)
	if tm.Arm(due) || tm.at != at {
		t.Fatal("a later deadline moved the timer")
	}
	mu.Unlock()
	// It goes off at 40 ms, finds the deadline ahead, and waits for it.
	if got := (<-fired).Sub(start); got < 120*time.Millisecond {
		t.Fatalf("fired after %v, before the deadline of 120 ms", got)
	}
	mu.Lock()
	if tm.Armed() {
		t.Fatal("armed after firing for the current deadline")
	}
	due = time.Now().Add(time.Hour)
	tm.Arm(due)
	due = time.Now().Add(10 * time.Millisecond) // an earlier deadline moves it
	tm.Arm(due)
	mu.Unlock()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("an earlier deadline did not move the timer")
	}
	mu.Lock()
	due = time.Now().Add(20 * time.Millisecond)
	tm.Arm(due)
	set.StopAll()
	armed, left := tm.Armed(), len(set)
	mu.Unlock()
	if armed || left != 0 {
		t.Fatalf("after StopAll: armed %v, %d in the set", armed, left)
	}
	select {
	case <-fired:
		t.Fatal("fired after StopAll")
	case <-time.After(60 * time.Millisecond):
	}
}
