package socket

import (
	"testing"
	"time"
)

func TestNextSpin(t *testing.T) {
	const us = int64(time.Microsecond)
	most := 200 * us
	for _, c := range []struct{ b, parked, want int64 }{
		{0, -1, spinStep},              // caught at once: grows from nothing
		{50 * us, -1, 101 * us},        // caught: doubles, plus a step
		{150 * us, -1, most},           // up to RecvSpin
		{100 * us, 5000 * us, 50 * us}, // parked longer than RecvSpin: halves
		{1, 5000 * us, 0},              // and falls to nothing
		{100 * us, 30 * us, 101 * us},  // a short park: twice it, or the halved budget grown back
		{10 * us, 80 * us, 160 * us},   // twice a short park
		{10 * us, 150 * us, most},      // within RecvSpin
		{0, 0, spinStep},               // a park that ended at once
	} {
		if got := nextSpin(c.b, most, c.parked); got != c.want {
			t.Errorf("nextSpin(%v, %v, %v) = %v, want %v", time.Duration(c.b), time.Duration(most), time.Duration(c.parked), time.Duration(got), time.Duration(c.want))
		}
	}
}
