// Package streamcopy copies bytes that another core is about to read, as
// into a shared-memory ring or a loaned slot.
//
// A plain copy into such memory first fetches every destination line for
// ownership, and the reader's core usually holds the line from its last
// pass, so each line costs the writer a round trip to the other core and
// then costs the reader another to fetch it back. Stores that bypass the
// cache (non-temporal) skip the fetch: the lines go to memory whole, and
// the reader's sequential reads are prefetched from there. On the 2-vCPU
// machine the benchmarks run on (docs/benchmarks.md) that made a shm://
// PUSH of 64-byte messages about 1.13x as fast (they are written in
// batches of up to 64 KiB) and of 1 KiB ones 1.9x, and halved the one-way
// time of 32 KiB and 64 KiB messages; a single message of 1 or 2 KiB took
// up to 1.1x as long, its few lines coming from memory instead of a cache,
// so copies under Min bytes are plain.
package streamcopy

// Min is the smallest copy that bypasses the cache; shorter ones are plain
// copies.
const Min = 3072

// Copy copies min(len(dst), len(src)) bytes from src to dst, which must
// not overlap, and returns how many. Copies of Min bytes or more write
// dst's whole cache lines with non-temporal stores where the architecture
// has them (amd64), and are complete and visible to other cores, in order
// before any later store, when Copy returns.
func Copy(dst, src []byte) int {
	n := min(len(dst), len(src))
	if n < Min || !bypass {
		return copy(dst, src)
	}
	return copyBypass(dst[:n], src[:n])
}
