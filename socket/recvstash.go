package socket

// takeStashed returns a free message of class c from the stash, or nil
// (then NewMessage makes one). q.cmu is held.
//
// Only the smallest classes are stashed, whose messages cost more in the
// pool than in copying: a stash holds at most a magazine of them (up to
// 32 KiB with their bodies). An empty stash takes a full magazine of any
// class; one that holds another class leaves messages of c to NewMessage,
// so that alternating sizes cost no more than without it.
//
// When the pool has no full magazine, the stash makes one of new messages,
// but at most once per stashMakeEvery messages taken: those messages are
// what lets the pool fill magazines at all while the application frees
// each message it receives before taking the next (it frees into the
// core's own magazine, from which NewMessage would take each back), and
// where magazines fill on another core, NewMessage serves as before.
func (q *RecvQueue) takeStashed(c int8) *Message {
	q.stashTaken++
	mg := q.stash
	if mg == nil || mg.n == 0 {
		if c < 0 || c > maxStashClass {
			return nil
		}
		var made bool
		mayMake := q.stashTaken >= stashMakeEvery || !q.stashMade
		if mg, made = pools[c].takeMagazine(c, mayMake); mg == nil {
			return nil
		}
		if made {
			q.stashTaken, q.stashMade = 0, true
		}
		if q.stash != nil {
			pools[q.stashClass].empty.Put(q.stash)
		}
		q.stash, q.stashClass = mg, c
	} else if q.stashClass != c {
		return nil
	}
	return mg.pop()
}

// stashMakeEvery bounds how often a stash makes new messages: a magazine's
// worth (64) per 8192 messages taken at most.
const stashMakeEvery = 8192

// maxStashClass is the largest class RecvQueue stashes: the same classes
// as have per-P magazines.
const maxStashClass = maxLocalClass
