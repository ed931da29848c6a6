//go:build !race

package testutil

// Race reports whether the race detector is on; under it, sync.Pool drops
// a share of what it is given, so allocation counts mean nothing.
const Race = false
