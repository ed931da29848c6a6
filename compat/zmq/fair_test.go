package zmq_test

import (
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/fairtest"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/socket"
)

// TestFairQueueingLibzmqPUSH has three libzmq PUSH peers flood an mqwire
// PULL whose application takes its time over each message, so that the
// PULL is the bottleneck: each peer gets about a third of what is
// received, as libzmq's own PULL gives (its fair queueing; 1:1:1 in the
// same set-up). mqwire bounds each pipe's share of its receive queue by
// RecvHWM, as libzmq bounds each pipe; with one bound for the whole queue
// the shares were 46:70:34.
func TestFairQueueingLibzmqPUSH(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			fairtest.Rounds(t, func() map[socket.PipeID]int { return fairRound(t, tr) })
		})
	}
}

// fairRound runs one round over transport tr: how many messages came from
// each libzmq peer's pipe.
func fairRound(t *testing.T, tr string) map[socket.PipeID]int {
	in, _ := pull.New()
	defer in.Close()
	l, err := in.Listen(endpoint(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	for range fairtest.Peers {
		p := startPeer(t, "PUSH", "connect", l.URL(), "flood", "0")
		defer func() { p.cmd.Process.Kill(); p.cmd.Wait() }()
	}
	for deadline := time.Now().Add(10 * time.Second); in.Stats().Pipes < fairtest.Peers; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d libzmq peers connected in 10 s", in.Stats().Pipes, fairtest.Peers)
		}
		time.Sleep(time.Millisecond)
	}
	return fairtest.Count(t, in)
}
