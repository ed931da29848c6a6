package socket

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
)

// freeMessages frees a batch as Free frees each: runs of one class, mixed
// classes, plain-pool classes, shared messages (kept while an owner
// remains), messages not of the pool and messages freed twice; none is
// handed out twice, and every slot is cleared.
func TestFreeMessages(t *testing.T) {
	sizes := []int{64, 64, 1000, 64, 600_000, 64, 1000}
	var ms []*Message
	for range 3 * magazineSize { // more than a magazine of one class
		for _, n := range sizes {
			ms = append(ms, NewMessage(n))
		}
	}
	shared := NewMessage(64)
	shared.Share() // a second owner
	ms = append(ms, shared, &Message{Body: []byte("not pooled"), class: -1})
	twice := ms[0]
	ms = append(ms, twice) // freed twice in one batch: harmless
	freeMessages(ms)
	for i, m := range ms {
		if m != nil {
			t.Fatalf("slot %d not cleared", i)
		}
	}
	if shared.free || shared.Body == nil {
		t.Fatal("a message another owner shares was pooled")
	}
	seen := map[*Message]bool{shared: true}
	for range 4 * magazineSize {
		for _, n := range sizes {
			m := NewMessage(n)
			if seen[m] {
				t.Fatalf("size %d: a message was handed out twice", n)
			}
			seen[m] = true
		}
	}
	shared.Free() // the last owner
	if !shared.free {
		t.Error("the last owner's Free did not pool the shared message")
	}
}

// The receive queue's stash: its first take makes a magazine of new
// messages of the class; a take of another class leaves it alone (nil, for
// NewMessage); an empty stash takes a full magazine from the pool and makes
// no more new messages until stashMakeEvery more are taken; classes above
// maxStashClass are never stashed. Nothing is handed out twice.
func TestRecvQueueStash(t *testing.T) {
	var q RecvQueue
	seen := map[*Message]bool{}
	take := func(c int8) *Message {
		t.Helper()
		m := q.takeStashed(c)
		if m == nil {
			return nil
		}
		if seen[m] {
			t.Fatalf("class %d: a message was handed out twice", c)
		}
		seen[m] = true
		if m.class != c || !m.free || len(m.buf) != headroom+1<<(int(c)+minClassShift) {
			t.Fatalf("class %d: got a message of class %d, free %v, buffer %d", c, m.class, m.free, len(m.buf))
		}
		return m
	}
	drainFull(1) // no full magazine of class 1 in the pool: the stash makes one
	first := take(1)
	if first == nil || !q.stashMade || q.stashTaken != 0 {
		t.Fatalf("the first take made no magazine (made %v, taken %d)", q.stashMade, q.stashTaken)
	}
	if m := take(0); m != nil {
		t.Fatal("a take of class 0 was served from a stash of class 1")
	}
	if m := take(maxStashClass + 1); m != nil {
		t.Fatal("a class above maxStashClass was served from the stash")
	}
	mine := []*Message{first}
	for q.stash.n > 0 {
		mine = append(mine, take(1))
	}
	// Give them back as a full magazine; an empty stash takes it.
	full := new(magazine)
	for _, m := range mine {
		full.ms[full.n] = m
		full.n++
		delete(seen, m)
	}
	if full.n != magazineSize {
		t.Fatalf("the made magazine held %d messages, want %d", full.n, magazineSize)
	}
	if testutil.Race {
		return // sync.Pool drops some of what it is given under the race detector
	}
	pools[1].full.Put(full)
	madeBefore := q.stashTaken
	if take(1) == nil {
		t.Fatal("an empty stash did not refill from the pool")
	}
	if q.stashTaken != madeBefore+1 {
		t.Fatal("the stash made new messages though the pool had a full magazine")
	}
	drainFull(1)
	for q.stash.n > 0 {
		take(1)
	}
	if m := take(1); m != nil {
		t.Fatalf("the stash made new messages %d takes after the last, within stashMakeEvery", q.stashTaken)
	}
	q.stashTaken = stashMakeEvery
	if take(1) == nil {
		t.Fatal("the stash made no new messages after stashMakeEvery takes")
	}
}

// drainFull empties the pool of full magazines of class c.
func drainFull(c int8) {
	for pools[c].full.Get() != nil {
	}
}

// TestPoolConcurrent: goroutines on every P make, hold and free messages of
// the classes with per-P magazines and without, and write their mark into
// each body while they hold it: a message handed to two holders at once
// would show the other's mark. With GOMAXPROCS raised past the per-P slots
// made at start-up, the goroutines on the new Ps use the sync.Pool instead.
func TestPoolConcurrent(t *testing.T) {
	for _, procs := range []int{runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0) + 3} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			var wg sync.WaitGroup
			errs := make(chan error, 4*procs)
			for g := range 4 * procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mark := byte(g + 1)
					sizes := []int{10, 64, 200, 1000, 5000}
					held := make([]*Message, 0, 100)
					for i := range 20000 {
						m := NewMessage(sizes[i%len(sizes)])
						for j := range m.Body {
							m.Body[j] = mark
						}
						held = append(held, m)
						if len(held) < cap(held) && i%7 != 0 {
							continue
						}
						for _, h := range held {
							for _, b := range h.Body {
								if b != mark {
									errs <- fmt.Errorf("goroutine %d: a held message was written by %d", mark, b)
									return
								}
							}
						}
						if i%3 == 0 {
							freeMessages(held)
						} else {
							for _, h := range held {
								h.Free()
							}
						}
						held = held[:0]
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// TestClassOfFits checks that each size gets the smallest class that
// holds it, and that from 4 KiB up a class holds its power of two plus a
// protocol header (classSlack).
func TestClassOfFits(t *testing.T) {
	sizes := []int{0, 1, 63, 64, 65}
	for shift := minClassShift; shift <= maxClassShift+1; shift++ {
		p := 1 << shift
		sizes = append(sizes, p-1, p, p+1, p+4, p+classSlack, p+classSlack+1)
	}
	for _, n := range sizes {
		c := classOf(n)
		if c < 0 {
			if last := classSize(numClasses - 1); n <= last {
				t.Errorf("classOf(%d) = -1, but the largest class holds %d", n, last)
			}
			continue
		}
		if classSize(c) < n {
			t.Errorf("classOf(%d) = %d, which holds only %d", n, c, classSize(c))
		}
		if c > 0 && classSize(c-1) >= n {
			t.Errorf("classOf(%d) = %d, but class %d holds %d", n, c, c-1, classSize(c-1))
		}
	}
	if c := classOf(1<<20 + 4); classSize(c) != 1<<20+classSlack {
		t.Errorf("a 1 MiB body with an SP request id is in class %d of %d bytes", c, classSize(c))
	}
	if m := NewMessage(1<<20 + 12); cap(m.Body) < 1<<20+12 || len(m.buf) != headroom+1<<20+classSlack {
		t.Errorf("NewMessage(1 MiB + 12): body cap %d, buffer %d", cap(m.Body), len(m.buf))
	} else {
		m.Free()
	}
}
