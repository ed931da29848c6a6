//go:build !race

package streamcopy

import "unsafe"

// bypass says this build has copyBypass's non-temporal stores (amd64;
// not under the race detector, which sees no stores made in assembly).
const bypass = true

// copyLines copies n bytes (a positive multiple of 64) from src to dst (64
// byte aligned) with non-temporal stores, then fences them.
//
//go:noescape
func copyLines(dst, src unsafe.Pointer, n uintptr)

// copyBypass copies src to dst (equal lengths of at least 64 bytes):
// plainly up to dst's first line boundary and after its last, and the
// whole lines between with copyLines.
func copyBypass(dst, src []byte) int {
	n := len(dst)
	lead := int(-uintptr(unsafe.Pointer(unsafe.SliceData(dst))) & 63)
	copy(dst[:lead], src)
	lines := (n - lead) &^ 63
	if lines > 0 {
		copyLines(unsafe.Pointer(&dst[lead]), unsafe.Pointer(&src[lead]), uintptr(lines))
	}
	copy(dst[lead+lines:], src[lead+lines:])
	return n
}
