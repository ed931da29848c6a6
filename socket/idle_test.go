package socket_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// TestIdleConnectionMemory checks that an idle tcp or ipc connection holds
// no read buffer at either end: a pipe's reader lets its 64 KiB buffer go
// while it waits for bytes. With the buffers held, a connection (both
// ends, as here) took about 137 KiB of heap; without, about 8 KiB. The
// same holds for a ZMTP connection with heartbeats, whose PINGs make the
// receiving end's reader leave chunked reading for the codec: that end
// kept its chunk and a read buffer for good, 128 KiB, before that change
// was made to let both go too.
func TestIdleConnectionMemory(t *testing.T) {
	const conns = 100
	for _, tr := range []string{"tcp", "ipc"} {
		for _, d := range []string{"sp", "zmtp", "zmtp+heartbeats"} {
			t.Run(tr+"/"+d, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				in := must(pull.New())
				closeAll(t, in)
				url := must(in.Listen(testutil.URL(t, tr))).URL()
				opts := []socket.Option{socket.DialDialect(socket.DialectSP)}
				if d != "sp" {
					opts = []socket.Option{socket.DialDialect(socket.DialectZMTP)}
				}
				if d == "zmtp+heartbeats" {
					opts = append(opts, socket.HeartbeatInterval(50*time.Millisecond), socket.HeartbeatTimeout(time.Second))
				}
				before := heapInUse()
				for range conns {
					out := must(push.New(opts...))
					closeAll(t, out)
					must(out.Dial(url))
					waitPipes(t, out, 1)
					send(t, out, "once") // so that both ends have read
					recv(t, in)
				}
				waitPipes(t, in, conns)
				// Every reader back in its wait (and PINGs read). With
				// heartbeats some pipes are in the middle of a PING at any
				// moment, the more so on a loaded machine: the least of a
				// few looks is what the idle connections hold for good.
				var per int64
				for try := range 4 {
					time.Sleep(time.Duration(120+30*try) * time.Millisecond)
					if per = (heapInUse() - before) / conns; per <= 32<<10 {
						break
					}
				}
				if per > 32<<10 {
					t.Fatalf("%d idle connections hold %d B of heap each, want under 32 KiB", conns, per)
				}
				t.Logf("%d B of heap per idle connection", per)
			})
		}
	}
}

// heapInUse returns the heap in use once the garbage, and what pools hold,
// is collected (a pool's items survive one collection).
func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
