// Package fairtest measures how fairly a socket receives from the peers
// that flood it, for the fair-queueing tests of package socket and of the
// libzmq interop tests.
package fairtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// Peers is how many flooding peers a round has; Take is how many
// messages it counts; Per is how long the application takes over each
// message, so that the receiver, not the peers, is the bottleneck.
const (
	Peers = 3
	Take  = 20000
	Per   = 5 * time.Microsecond
)

// Rounds runs round, which counts the messages a socket received per
// pipe, up to three times until one round is fair (Fair): a machine too
// busy to let the peers keep up makes them the bottleneck instead, and
// then nothing is fair to judge. It fails t with every round's counts.
func Rounds(t *testing.T, round func() map[socket.PipeID]int) {
	t.Helper()
	var rounds []string
	for range 3 {
		count := round()
		if Fair(count) {
			return
		}
		rounds = append(rounds, fmt.Sprint(count))
	}
	t.Fatalf("messages received per pipe, in rounds of %d: %v; want about a third from each", Take, rounds)
}

// Fair reports whether Peers pipes each sent between 22% and 45% of Take
// messages.
func Fair(count map[socket.PipeID]int) bool {
	if len(count) != Peers {
		return false
	}
	for _, k := range count {
		if share := float64(k) / Take; share < 0.22 || share > 0.45 {
			return false
		}
	}
	return true
}

// Count receives from s as a slow application would, taking Per over
// each message: first 5,000 so that every peer is up to speed, then Take,
// which it counts by pipe.
func Count(t testing.TB, s *socket.Socket) map[socket.PipeID]int {
	t.Helper()
	take(t, s, 5000, nil)
	count := map[socket.PipeID]int{}
	take(t, s, Take, count)
	return count
}

// take receives n messages from s, taking Per over each, and counts them
// by pipe when count is not nil.
func take(t testing.TB, s *socket.Socket, n int, count map[socket.PipeID]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range n {
		m, err := s.RecvContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if count != nil {
			count[m.Pipe]++
		}
		m.Free()
		for start := time.Now(); time.Since(start) < Per; {
		}
	}
}
