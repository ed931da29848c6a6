package socket

import (
	"testing"
	"time"

	"github.com/mqwire/mqwire/wire/sp"
)

// woken reports whether q gave its writer a token, taking it.
func woken(q *sendQueue) bool {
	select {
	case <-q.wake:
		return true
	default:
		return false
	}
}

// While the application writes its own full queues (deferring), a small
// message queued does not wake the idle writer but arms the tail timer,
// whose firing does; a large body, which only the writer writes, wakes it
// at once and ends the deferral.
func TestDeferredWakeUps(t *testing.T) {
	// The test fires the tail timer itself: the real one, armed by the
	// first push, must not fire meanwhile.
	old := tailDelayNs.Swap(int64(time.Hour))
	defer tailDelayNs.Store(old)
	q := newSendQueue(100, 0)
	q.selfFlush, q.sleeping, q.deferring = true, true, true
	defer q.stopTail()
	if !q.push(NewMessage(64), 64, false) || woken(q) {
		t.Fatal("a small message woke the writer while deferring")
	}
	q.mu.Lock()
	armed := q.tailArmed
	q.mu.Unlock()
	if !armed {
		t.Fatal("the tail timer is not armed")
	}
	q.tailDue() // as when the timer fires
	if !woken(q) {
		t.Fatal("the tail timer did not wake the writer")
	}
	q.mu.Lock()
	if q.deferring || q.tailArmed {
		t.Error("the tail timer did not end the deferral")
	}
	q.sleeping, q.deferring = true, true
	q.mu.Unlock()
	big := NewMessage(copyLimit + 1)
	if !q.push(big, big.Len(), false) || !woken(q) {
		t.Fatal("a large body did not wake the writer")
	}
	q.mu.Lock()
	deferring := q.deferring
	q.mu.Unlock()
	if deferring {
		t.Error("a large body did not end the deferral")
	}
}

// claimFront gives the application only what it may write itself, and
// when the front is a large body it wakes the writer instead.
func TestClaimFront(t *testing.T) {
	codec := &spCodec{framing: sp.FramingTCP}
	q := newSendQueue(1000, 0)
	q.selfFlush, q.sleeping = true, true
	defer q.stopTail()
	for range 10 {
		q.push(NewMessage(100), 100, false)
	}
	big := NewMessage(copyLimit + 1)
	q.push(big, big.Len(), false)
	woken(q)
	q.sleeping = true // the writer, not having run yet, as if idle
	ms := q.claimFront(codec, 0)
	if len(ms) != 10 || q.turn != turnApp || !q.deferring || len(q.items) != 1 {
		t.Fatalf("claimed %d, turn %d, deferring %v, %d left", len(ms), q.turn, q.deferring, len(q.items))
	}
	q.front = ms[:0]
	q.release(nil, nil)
	if woken(q) {
		t.Fatal("release woke the writer while deferring, for a large body the next claim hands it")
	}
	if ms := q.claimFront(codec, 0); ms != nil || !woken(q) || q.deferring {
		t.Fatalf("with a large body in front: claimed %d, deferring %v", len(ms), q.deferring)
	}
}

// While the application keeps claiming batches, the tail timer does not
// wake the writer: it waits for tailDelay after the last claim.
func TestTailWaitsForLastClaim(t *testing.T) {
	codec := &spCodec{framing: sp.FramingTCP}
	q := newSendQueue(1000, 0)
	q.selfFlush, q.sleeping = true, true
	defer q.stopTail()
	q.push(NewMessage(64), 64, false)
	woken(q)
	q.sleeping = true
	ms := q.claimFront(codec, 0)
	if len(ms) != 1 {
		t.Fatalf("claimed %d", len(ms))
	}
	q.front = ms[:0]
	q.release(nil, nil)
	q.push(NewMessage(64), 64, false) // behind the claim: arms the timer
	q.tailDue()                       // fired early, as if the claim had just been made
	if woken(q) {
		t.Fatal("the tail timer woke the writer right after a claim")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !woken(q) {
		if time.Now().After(deadline) {
			t.Fatal("the re-armed tail timer never woke the writer")
		}
		time.Sleep(time.Millisecond)
	}
	if since := time.Since(q.lastClaim); since < tailDelay() {
		t.Errorf("woken %v after the claim, before tailDelay", since)
	}
}
