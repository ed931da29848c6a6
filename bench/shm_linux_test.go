package bench_test

// On Linux the benchmarks run over shm:// too, both dialects as on tcp and
// ipc, so that allocs/msg is reported for every pattern there as well.
func init() { transports = append(transports, "shm") }
