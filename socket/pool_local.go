package socket

import (
	"runtime"
	_ "unsafe" // for go:linkname
)

// The core's own magazine of a small class lives in a slot per P rather
// than in a sync.Pool: taking it out of a sync.Pool and putting it back
// cost two Gets and two Puts per message made and freed (about 18 ns a
// pair here), against a pin of the P and a slot's load for the slot. The
// runtime's procPin and procUnpin are what sync.Pool pins with; they are
// linked by name, as widely used packages do (the runtime keeps them for
// that, go.dev/issue/67401). A goroutine pinned to its P runs alone on it
// until it unpins, so the slot needs no lock; nothing between the two
// calls may block.
//
// The slots are not emptied by the GC as sync.Pools are (nothing but the
// P's own goroutine may touch a slot, and a GC hook runs on none): each
// holds at most one magazine of its class, so only the classes up to
// maxLocalClass (bodies up to 256 bytes, where the pool's cost weighs most
// against the copy) have them, 76 KiB per P for all three at most.
// Under the race detector, which cannot see the P's exclusion, and on a P
// beyond the slots (GOMAXPROCS raised after start-up), the sync.Pool of
// magazines serves as before.

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// maxLocalClass is the largest class with per-P slots.
const maxLocalClass = 2

// localMagazine is one P's slot, on a cache line of its own.
type localMagazine struct {
	mg *magazine
	_  [56]byte
}

func initLocal(c int) []localMagazine {
	if raceEnabled || c > maxLocalClass {
		return nil
	}
	return make([]localMagazine, runtime.GOMAXPROCS(0))
}

// getLocal takes a message from the core's magazine, swapping in a full
// one when it is empty. It returns nil when the pool has none, and ok false
// when the running P has no slot (then the caller uses the sync.Pool).
func (p *classPool) getLocal() (m *Message, ok bool) {
	pid := procPin()
	if pid >= len(p.local) {
		procUnpin()
		return nil, false
	}
	if mg := p.local[pid].mg; mg != nil && mg.n > 0 {
		m = mg.pop()
		procUnpin()
		return m, true
	}
	procUnpin()
	full := p.takeFull()
	if full == nil {
		return nil, true
	}
	m = full.pop()
	p.install(full)
	return m, true
}

// putLocal keeps m in the core's magazine, shelving it first when full. It
// returns false when the running P has no slot.
func (p *classPool) putLocal(m *Message) bool {
	pid := procPin()
	if pid >= len(p.local) {
		procUnpin()
		return false
	}
	l := &p.local[pid]
	if mg := l.mg; mg != nil && mg.n < magazineSize {
		mg.ms[mg.n] = m
		mg.n++
		procUnpin()
		return true
	}
	old := l.mg
	l.mg = nil
	procUnpin()
	p.shelve(old)
	mg, _ := p.empty.Get().(*magazine)
	if mg == nil {
		mg = new(magazine)
	}
	mg.ms[0], mg.n = m, 1
	p.install(mg)
	return true
}

// takeOwn takes the core's magazine out of its slot (or the sync.Pool),
// for a caller that frees a run of messages into it (freeMessages); give
// it back with giveOwn. It may be nil.
func (p *classPool) takeOwn() *magazine {
	if p.local != nil {
		pid := procPin()
		if pid < len(p.local) {
			mg := p.local[pid].mg
			p.local[pid].mg = nil
			procUnpin()
			return mg
		}
		procUnpin()
	}
	mg, _ := p.cur.Get().(*magazine)
	return mg
}

// giveOwn puts back a magazine takeOwn gave.
func (p *classPool) giveOwn(mg *magazine) {
	if p.local != nil {
		p.install(mg)
		return
	}
	p.cur.Put(mg)
}

// install makes mg the running core's magazine and shelves the one it
// replaces, if any (put there while this goroutine was not pinned); on a
// P without a slot it shelves mg.
func (p *classPool) install(mg *magazine) {
	pid := procPin()
	old := mg
	if pid < len(p.local) {
		old, p.local[pid].mg = p.local[pid].mg, mg
	}
	procUnpin()
	p.shelve(old)
}

// shelve puts a magazine that no core holds where gets look for one: with
// the full ones if it holds any message, else with the empty ones.
func (p *classPool) shelve(mg *magazine) {
	switch {
	case mg == nil:
	case mg.n > 0:
		p.full.Put(mg)
	default:
		p.empty.Put(mg)
	}
}
