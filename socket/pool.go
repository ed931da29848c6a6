package socket

import "sync"

// The message pool keeps freed messages, per size class, for NewMessage.
//
// The common shape is a producer and a consumer on different cores: one
// goroutine makes messages and sends them, another receives and frees them.
// With one sync.Pool of messages, every NewMessage would then find its own
// core's pool empty and steal one message from the other core's, moving the
// pool's shared state between the cores for each message. Instead, freed
// messages gather in magazines (as in Bonwick's magazine allocator): each
// core (each P) has a magazine of its own that it takes from and frees into,
// and only whole magazines, full or empty, move between cores, once per
// magazineSize messages.
//
// Large classes keep a plain pool of messages: a core's magazine would hold
// too much memory, and their cost is in copying the body anyway.

// magazineSize is how many messages a magazine of a small class holds.
const magazineSize = 64

// magazineBytes bounds the memory one magazine holds: classes whose
// magazine of magazineSize would hold more use a plain pool.
const magazineBytes = 512 << 10

type magazine struct {
	n  int
	ms [magazineSize]*Message
}

type classPool struct {
	magazines bool
	local     []localMagazine // the core's own, per P (pool_local.go); nil: cur
	cur       sync.Pool       // *magazine: the core's own, neither full nor empty as a rule
	full      sync.Pool       // *magazine holding messages (magazineSize as a rule)
	empty     sync.Pool       // *magazine holding none
	plain     sync.Pool       // *Message, for classes without magazines
}

var pools [numClasses]classPool

func init() {
	for c := range pools {
		pools[c].magazines = magazineSize*(headroom+classSize(int8(c))) <= magazineBytes
		pools[c].local = initLocal(c)
	}
}

// get returns a freed message of the class, or nil.
func (p *classPool) get() *Message {
	if !p.magazines {
		m, _ := p.plain.Get().(*Message)
		return m
	}
	if p.local != nil {
		if m, ok := p.getLocal(); ok {
			return m
		}
	}
	mg, _ := p.cur.Get().(*magazine)
	if mg == nil || mg.n == 0 {
		full := p.takeFull()
		if full == nil {
			if mg != nil {
				p.cur.Put(mg)
			}
			return nil
		}
		if mg != nil {
			p.empty.Put(mg)
		}
		mg = full
	}
	m := mg.pop()
	p.cur.Put(mg)
	return m
}

// pop takes the last message out of mg, which holds at least one.
func (mg *magazine) pop() *Message {
	mg.n--
	m := mg.ms[mg.n]
	mg.ms[mg.n] = nil
	return m
}

// takeFull returns a shelved magazine that holds messages, or nil. The
// messages were freed on another core, most likely, and each will be
// written when it is taken: writing them all now has their cache lines
// move over together rather than one at a time.
func (p *classPool) takeFull() *magazine {
	mg, _ := p.full.Get().(*magazine)
	if mg != nil && mg.n == 0 { // not shelved so; kept out all the same
		p.empty.Put(mg)
		return nil
	}
	if mg != nil {
		for _, m := range mg.ms[:mg.n] {
			m.free = true
		}
	}
	return mg
}

// takeMagazine returns a full magazine of freed messages, marked free,
// for a caller that takes many (RecvQueue's stash); it hands the magazine
// back (empty.Put) once it is empty. When the pool has no full one, it
// makes one of new messages if mayMake (made says so), else returns nil.
func (p *classPool) takeMagazine(c int8, mayMake bool) (mg *magazine, made bool) {
	if mg = p.takeFull(); mg != nil {
		return mg, false
	}
	if !mayMake {
		return nil, false
	}
	if mg, _ = p.empty.Get().(*magazine); mg == nil {
		mg = new(magazine)
	}
	for mg.n < magazineSize {
		m := newPooled(c)
		m.free = true
		mg.ms[mg.n] = m
		mg.n++
	}
	return mg, true
}

// put keeps m for a later get.
func (p *classPool) put(m *Message) {
	if !p.magazines {
		p.plain.Put(m)
		return
	}
	if p.local != nil && p.putLocal(m) {
		return
	}
	mg, _ := p.cur.Get().(*magazine)
	p.cur.Put(p.putIn(mg, m))
}

// putIn adds m to mg, the core's magazine or nil, and returns the magazine
// to go on with: mg, or an empty one when mg was full (and is shelved).
func (p *classPool) putIn(mg *magazine, m *Message) *magazine {
	if mg == nil || mg.n == magazineSize {
		if mg != nil {
			p.full.Put(mg)
		}
		if mg, _ = p.empty.Get().(*magazine); mg == nil {
			mg = new(magazine)
		}
	}
	mg.ms[mg.n] = m
	mg.n++
	return mg
}

// freeMessages frees each of ms, as Free does, and sets it to nil. A stream
// writer frees what it wrote a batch at a time: messages of one class go
// into the core's magazine with one visit to the pool for the run of them,
// where Free visits it twice per message (a quarter of a 64 B sender's
// time was in Free).
func freeMessages(ms []*Message) {
	var (
		cur *classPool
		mg  *magazine
	)
	for i, m := range ms {
		ms[i] = nil
		if !m.retire() {
			continue
		}
		p := &pools[m.class]
		if !p.magazines {
			p.plain.Put(m)
			continue
		}
		if p != cur {
			if cur != nil {
				cur.giveOwn(mg)
			}
			cur = p
			mg = p.takeOwn()
		}
		mg = p.putIn(mg, m)
	}
	if cur != nil {
		cur.giveOwn(mg)
	}
}
