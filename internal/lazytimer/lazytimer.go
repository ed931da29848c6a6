// Package lazytimer is a timer for deadlines that come one after another
// (a request's resend, a survey's end): it is left running when a deadline
// is no longer needed, moved only when it would go off too late for a new
// one, and a firing that comes early, meant for an earlier deadline, waits
// for the rest of the current one. A Stop and a Reset for every request
// took a fifth of an inproc REQ/REP round trip.
//
// A Timer and a Set are guarded by their owner's lock: every method is
// called with it held, and the function the timer runs takes it first.
package lazytimer

import "time"

// Timer runs a function at or after the deadlines it is armed for. Init
// gives it the function; then it rests until armed, and makes its
// time.Timer when first armed.
type Timer struct {
	t  *time.Timer
	at time.Time // when t goes off; zero when it rests
	f  func()
}

// Init sets the function the timer runs, once, before the first Arm. Taking
// it here, not in Arm, keeps a method value from being made (allocated) for
// every request.
func (t *Timer) Init(f func()) { t.f = f }

// Arm makes sure the timer goes off by due. It reports whether this call
// made the timer, for the owner to add it to its Set.
func (t *Timer) Arm(due time.Time) (made bool) {
	if !t.at.IsZero() && !t.at.After(due) {
		return false // it goes off sooner, and will wait again then
	}
	t.at = due
	if t.t == nil {
		t.t = time.AfterFunc(time.Until(due), t.f)
		return true
	}
	t.t.Reset(time.Until(due))
	return false
}

// Fired is the first thing the timer's function does: the timer rests
// until it is armed again.
func (t *Timer) Fired() { t.at = time.Time{} }

// Early reports whether due is still ahead (the firing was meant for an
// earlier deadline), and then has the timer go off at due.
func (t *Timer) Early(due time.Time) bool {
	wait := time.Until(due)
	if wait <= 0 {
		return false
	}
	t.at = due
	t.t.Reset(wait)
	return true
}

// Armed reports whether the timer is to go off.
func (t *Timer) Armed() bool { return !t.at.IsZero() }

// Stop stops the timer until it is armed again.
func (t *Timer) Stop() {
	if t.t != nil {
		t.t.Stop()
	}
	t.at = time.Time{}
}

// Set is the timers of one socket, which its Close stops: a timer left
// running would keep the socket reachable until it went off.
type Set map[*Timer]struct{}

// Add adds t.
func (s Set) Add(t *Timer) { s[t] = struct{}{} }

// Stop stops t and forgets it.
func (s Set) Stop(t *Timer) {
	t.Stop()
	delete(s, t)
}

// StopAll stops and forgets every timer.
func (s Set) StopAll() {
	for t := range s {
		s.Stop(t)
	}
}
