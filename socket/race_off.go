//go:build !race

package socket

// raceEnabled says the race detector is on (pool_local.go).
const raceEnabled = false
