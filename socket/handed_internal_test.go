package socket

import (
	"math"
	"sync"
	"testing"
)

// nearLarge is the largest size counted in the packed word, or the
// largest int where that is smaller (32-bit systems).
var nearLarge = int(min(uint64(handedLarge-1), math.MaxInt))

// TestHandedCountDrains checks the packed count through drains of either
// part and through messages counted straight into the totals.
func TestHandedCountDrains(t *testing.T) {
	var h handedCount
	var msgs, bytes uint64
	add := func(n int) {
		h.add(n)
		msgs++
		bytes += uint64(n)
	}
	// Bytes drain: a part of 2^39 is reached after 128 of these (256 on
	// 32-bit systems).
	for range 300 {
		add(nearLarge)
	}
	if h.msgs.Load() == 0 {
		t.Fatal("no drain after 300 messages of 2-4 GiB")
	}
	if uint64(math.MaxInt) >= 3*handedLarge {
		add(int(min(uint64(handedLarge), math.MaxInt))) // counted in the totals at once
		add(int(min(uint64(3*handedLarge), math.MaxInt)))
	}
	// Messages drain: the message part reaches 2^23.
	for range handedMsgsDrain + 5 {
		add(1)
	}
	if got := h.packed.Load() >> handedShift; got >= handedMsgsDrain {
		t.Fatalf("packed message count %d not drained", got)
	}
	if m, b := h.load(); m != msgs || b != bytes {
		t.Fatalf("load = %d messages, %d bytes; want %d, %d", m, b, msgs, bytes)
	}
}

// TestHandedCountConcurrent has senders count while readers load: every
// load is at least the one before, and the last is exact.
func TestHandedCountConcurrent(t *testing.T) {
	var h handedCount
	const senders, each = 4, 2000
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := range each {
				if j%2 == 0 {
					h.add(nearLarge) // a drain every 128 or so
				} else {
					h.add(i + 1)
				}
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		var lastM, lastB uint64
		for {
			m, b := h.load()
			if m < lastM || b < lastB {
				t.Errorf("load went back: %d, %d after %d, %d", m, b, lastM, lastB)
				return
			}
			lastM, lastB = m, b
			select {
			case <-done:
				return
			default:
			}
		}
	})
	wg.Wait()
	close(done)
	readers.Wait()
	var wantB uint64
	for i := range senders {
		wantB += each / 2 * uint64(nearLarge)
		wantB += each / 2 * uint64(i+1)
	}
	if m, b := h.load(); m != senders*each || b != wantB {
		t.Fatalf("load = %d messages, %d bytes; want %d, %d", m, b, senders*each, wantB)
	}
}
