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
								_, err := localThr(url, pat, size, count, func() { close(ready) })
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
