package streamcopy

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestCopy compares Copy with copy for every alignment of the destination
// within a line, lengths around Min and across several lines, and
// destinations and sources of unequal length.
func TestCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 3*Min+200)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	lengths := []int{0, 1, 63, 64, Min - 1, Min, Min + 1, Min + 63, Min + 64, 2*Min + 37, 3 * Min}
	for _, n := range lengths {
		for off := 0; off < 64; off++ {
			for _, srcOff := range []int{0, 3, 64} {
				buf := make([]byte, n+off+256)
				want := bytes.Clone(buf)
				dst := buf[off : off+n]
				s := src[srcOff : srcOff+n]
				copy(want[off:off+n], s)
				if k := Copy(dst, s); k != n {
					t.Fatalf("n %d off %d: Copy returned %d", n, off, k)
				}
				if !bytes.Equal(buf, want) {
					t.Fatalf("n %d off %d src off %d: bytes differ from copy's", n, off, srcOff)
				}
			}
		}
	}
	dst := make([]byte, Min+10)
	if k := Copy(dst, src[:Min+5]); k != Min+5 || !bytes.Equal(dst[:k], src[:k]) || dst[k] != 0 {
		t.Fatalf("short source: copied %d", k)
	}
	if k := Copy(dst[:Min], src); k != Min || !bytes.Equal(dst[:Min], src[:Min]) {
		t.Fatalf("short destination: copied %d", k)
	}
}

func BenchmarkCopy(b *testing.B) {
	for _, n := range []int{4 << 10, 64 << 10, 1 << 20} {
		src, dst := make([]byte, n), make([]byte, n)
		b.Run(byteSize(n)+"/streamcopy", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Copy(dst, src)
			}
		})
		b.Run(byteSize(n)+"/copy", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}
