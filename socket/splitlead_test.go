package socket_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// splitSizes are body sizes around the one from which a tcp batch goes in
// two writes (512 KiB), and a small one for batches that mix them.
var splitSizes = []int{3, 512<<10 - 1, 512 << 10, 512<<10 + 1, 7, 1<<20 + 3, 64}

// splitBody is message i of a stream: a pattern that shows a byte out of
// place.
func splitBody(i int) []byte {
	b := make([]byte, splitSizes[i%len(splitSizes)])
	for j := range b {
		b[j] = byte(j*31 + i)
	}
	return b
}

// TestSplitLeadBatches: over tcp, a batch holding a large body goes in two
// writes, cut 8 KiB into the body; both the pipe's writer goroutine (push,
// with small messages queued around the large ones) and the application
// writing through (pair, in lockstep) deliver every message whole and in
// order, in both dialects.
func TestSplitLeadBatches(t *testing.T) {
	for _, d := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
		t.Run(fmt.Sprintf("push/%v", d), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			w := must(push.New(socket.DialDialect(d)))
			r := must(pull.New(socket.MaxRecvSize(2 << 20)))
			closeAll(t, w, r)
			must(w.Dial(must(r.Listen("tcp://127.0.0.1:0")).URL()))
			const n = 3 * 7
			for i := range n {
				if err := w.SendContext(testCtx(t), socket.NewMessageBytes(splitBody(i))); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				m, err := r.RecvContext(testCtx(t))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(m.Body, splitBody(i)) {
					t.Fatalf("message %d: %d bytes, not the %d sent", i, len(m.Body), len(splitBody(i)))
				}
				m.Free()
			}
		})
		t.Run(fmt.Sprintf("pair/%v", d), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			a := must(pair.New(socket.DialDialect(d), socket.MaxRecvSize(2<<20)))
			b := must(pair.New(socket.MaxRecvSize(2 << 20)))
			closeAll(t, a, b)
			must(a.Dial(must(b.Listen("tcp://127.0.0.1:0")).URL()))
			// Both read through, and so write through, from the first
			// small messages on; each Recv waits before its message is
			// sent, and has no deadline (a large body is read through
			// only without one).
			lockstep(t, a, b, 1, small)
			lockstep(t, b, a, 1, small)
			through := 0
			for i := range 2 * len(splitSizes) {
				from, to := a, b
				if i%2 == 1 {
					from, to = b, a
				}
				if !socket.ReadsThrough(from) {
					// Away too long (a slow run): the reader took the
					// turn back. Small messages until it reads again.
					lockstep(t, to, from, 1, small)
				}
				got := recvAsync(to, context.Background())
				time.Sleep(time.Millisecond)
				if socket.ReadsThrough(from) {
					through++
				}
				if err := from.SendContext(testCtx(t), socket.NewMessageBytes(splitBody(i))); err != nil {
					t.Fatal(err)
				}
				if res := await(t, got, "echo"); res.err != nil || res.body != string(splitBody(i)) {
					t.Fatalf("message %d: %d bytes, %v", i, len(res.body), res.err)
				}
			}
			t.Logf("%d of %d messages sent by a sender reading through", through, 2*len(splitSizes))
		})
	}
}
