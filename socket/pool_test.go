package socket_test

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// TestMessagePoolAcrossGoroutines makes messages on one goroutine and frees
// them on another, the shape of a sender and a receiver: a message is
// never handed out again while it is in use, and once the pool is warm,
// next to nothing is allocated (freed messages come back to the maker in
// whole magazines).
func TestMessagePoolAcrossGoroutines(t *testing.T) {
	for _, size := range []int{8, 1000, 100_000} {
		const n = 200_000
		inFlight := make(chan *socket.Message, 300)
		done := make(chan uint64)
		go func() {
			var bad uint64
			for i := range uint64(n) {
				m := <-inFlight
				if got := binary.LittleEndian.Uint64(m.Body); got != i {
					bad++
				}
				m.Free()
			}
			done <- bad
		}()
		produce := func(from, to uint64) {
			for i := from; i < to; i++ {
				m := socket.NewMessage(size)
				binary.LittleEndian.PutUint64(m.Body, i)
				inFlight <- m
			}
		}
		produce(0, n/2) // warm up
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		produce(n/2, n)
		bad := <-done
		runtime.ReadMemStats(&after)
		if bad != 0 {
			t.Errorf("size %d: %d messages were changed while in flight", size, bad)
		}
		perMsg := float64(after.Mallocs-before.Mallocs) / (n / 2)
		t.Logf("size %d: %.4f allocations per message", size, perMsg)
		if !testutil.Race && perMsg > 0.02 {
			t.Errorf("size %d: %.4f allocations per message, want next to none", size, perMsg)
		}
	}
}
