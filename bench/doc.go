// Package bench holds mqwire's go test benchmarks; it has no API of its own.
//
// Every benchmark really moves each message from end to end: a sender
// goroutine sends b.N pooled messages (socket.NewMessage) and the receiving
// side takes all b.N of them and frees them (Message.Free), so allocs/op shows
// what the library itself allocates per message. Sockets are made and
// connected before the timer starts. Each benchmark reports msg/s beside the
// usual ns/op, B/op and allocs/op; request/reply ones also report
// us/roundtrip, and the fan-out ones report drops (which should be 0: the
// publisher keeps at most a window of messages in flight, below every
// high-water mark).
//
// A quick check that every benchmark works (what the test suite runs):
//
//	go test -run='^$' -bench=. -benchtime=1x ./bench/
//
// Real measurements:
//
//	go test -run='^$' -bench=. -benchtime=2s -count=3 ./bench/
//	go test -run='^$' -bench='PushPull/tcp/64B' -benchtime=2s \
//	    -cpuprofile=cpu.out -memprofile=mem.out ./bench/
//	go tool pprof -top -sample_index=alloc_objects bench.test mem.out
//
// BenchmarkPatterns runs every pattern (push/pull, pair, pair1, bus, pub/sub,
// xpub/xsub, req/rep, surveyor/respondent, dealer/router) over inproc, ipc,
// tcp, ws, wss, tls+tcp, curve+tcp (ZMTP only) and (on Linux) shm with 64-byte
// messages, in each dialect the pattern speaks; the other benchmarks run
// over the same transports.
//
// The Mangos benchmarks run the same cases with go.nanomsg.org/mangos/v3, for
// comparison on the same machine. docs/benchmarks-gotest.md holds results.
package bench
