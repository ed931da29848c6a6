package main

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// TestLoops runs every role of both dialects over inproc, ipc and tcp (both
// ends in this process) and reports the heap allocations per message of the
// whole run, sockets included.
func TestLoops(t *testing.T) {
	const size, count = 64, 5000
	for _, zm := range []bool{false, true} {
		for _, tr := range []string{"inproc", "ipc", "tcp"} {
			for _, pat := range []string{"push", "pair", "reqrep"} {
				t.Run(fmt.Sprintf("zmtp=%v/%s/%s", zm, tr, pat), func(t *testing.T) {
					testutil.CheckGoroutines(t)
					*zmtp = zm
					defer func() { *zmtp = false }()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					before := ms.Mallocs
					errc := make(chan error, 1)
					for attempt := 1; ; attempt++ {
						url := testutil.URL(t, tr)
						if tr == "tcp" {
							url = "tcp://127.0.0.1:" + freePort(t)
						}
						ready := make(chan struct{})
						if pat == "reqrep" {
							go func() { errc <- localLat(url, pat, size, count, func() { close(ready) }) }()
						} else {
							go func() {
								_, _, err := localThr(url, pat, size, count, func() { close(ready) })
								errc <- err
							}()
						}
						select {
						case <-ready:
						case err := <-errc:
							// The free port may be taken by another test before
							// the listener binds it: pick another.
							if errors.Is(err, socket.ErrAddrInUse) && attempt < 3 {
								continue
							}
							t.Fatal(err)
						}
						if pat == "reqrep" {
							if _, err := remoteLat(url, pat, size, count); err != nil {
								t.Fatal(err)
							}
						} else if err := remoteThr(url, pat, size, count); err != nil {
							t.Fatal(err)
						}
						break
					}
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
					runtime.ReadMemStats(&ms)
					t.Logf("%.2f allocs/msg", float64(ms.Mallocs-before)/count)
				})
			}
		}
	}
}

// TestPubRun runs the pub pattern with more messages than the queues hold:
// the run ends (it used to wait forever for messages a queue had dropped),
// a ZMTP subscriber, which waits for room as libzmq's does, gets every one
// (the publisher is NoDrop), and an SP one what it had room for.
func TestPubRun(t *testing.T) {
	const size, count = 64, 200000
	for _, zm := range []bool{false, true} {
		for _, tr := range []string{"inproc", "ipc"} {
			t.Run(fmt.Sprintf("zmtp=%v/%s", zm, tr), func(t *testing.T) {
				testutil.CheckGoroutines(t)
				*zmtp = zm
				defer func() { *zmtp = false }()
				url := testutil.URL(t, tr)
				type res struct {
					n   int
					err error
				}
				ready, local := make(chan struct{}), make(chan res, 1)
				go func() {
					n, _, err := localThr(url, "pub", size, count, func() { close(ready) })
					local <- res{n, err}
				}()
				<-ready
				if err := remoteThr(url, "pub", size, count); err != nil {
					t.Fatal(err)
				}
				r := <-local
				if r.err != nil {
					t.Fatal(r.err)
				}
				if r.n < 1 || r.n > count || (zm && tr != "inproc" && r.n != count) {
					t.Fatalf("received %d of %d", r.n, count)
				}
				t.Logf("received %d of %d", r.n, count)
			})
		}
	}
}

// freePort returns a tcp port that was free a moment ago.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
