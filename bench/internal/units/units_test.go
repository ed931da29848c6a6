package units

import "testing"

func TestSize(t *testing.T) {
	for n, want := range map[int]string{0: "0 B", 64: "64 B", 1024: "1 KiB", 1536: "1536 B", 65536: "64 KiB", 1 << 20: "1 MiB", 3 << 20: "3 MiB", 1<<20 + 1024: "1025 KiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
