package shm_test

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/transport/shm"
)

// The trimming of idle memory (trim_linux.go): rings. Slots are in
// loan_linux_test.go (TestIdleSlotsTrimmed).

// A ring that carried a stream holds its pages only for a while: once
// nothing has been written to it for the trim delay and the peer has read
// it all, its pages go back, the trim timer stops, and the next writes
// come through intact.
func TestIdleRingTrimmed(t *testing.T) {
	testutil.CheckGoroutines(t)
	defer shm.SetTrimIdle(50 * time.Millisecond)()
	a, d := rawConns(t, "?slots=0&ring=262144")
	stream := func(seed byte) {
		t.Helper()
		msg := bytes.Repeat([]byte{seed}, 1000)
		go func() {
			for range 600 { // 600 KB through a 256 KiB ring
				if _, err := a.Write(msg); err != nil {
					return
				}
			}
		}()
		got := make([]byte, 600*len(msg))
		if _, err := io.ReadFull(d, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, bytes.Repeat([]byte{seed}, len(got))) {
			t.Fatal("stream differs")
		}
	}
	stream(1)
	if n, _ := shm.RingResident(a); n < 256<<10 {
		t.Fatalf("%d bytes of the ring in memory after a stream through all of it", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, armed := shm.RingResident(a)
		if n == 0 && !armed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of the ring still in memory (timer armed: %v)", n, armed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stream(2)
}

// TestRingTrimmedUnderTrickle: heartbeats, or a few small messages a
// second, do not keep the pages a burst faulted in: a quiet ring is
// trimmed while they go on, and holds no more than the page or two they
// touch.
func TestRingTrimmedUnderTrickle(t *testing.T) {
	testutil.CheckGoroutines(t)
	defer shm.SetTrimIdle(50 * time.Millisecond)()
	a, d := rawConns(t, "?slots=0&ring=262144")
	burst := bytes.Repeat([]byte{1}, 200<<10)
	go a.Write(burst)
	if _, err := io.ReadFull(d, make([]byte, len(burst))); err != nil {
		t.Fatal(err)
	}
	if n, _ := shm.RingResident(a); n < 200<<10 {
		t.Fatalf("%d bytes of the ring in memory after a 200 KiB burst", n)
	}
	ping := []byte("trickle!") // a heartbeat's worth, every 10 ms
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := a.Write(ping); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(d, make([]byte, len(ping))); err != nil {
			t.Fatal(err)
		}
		if n, _ := shm.RingResident(a); n <= 2*os.Getpagesize() {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%d bytes of the ring still in memory under a trickle", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
