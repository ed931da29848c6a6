package inproc

import (
	"context"
	"testing"

	"github.com/mqwire/mqwire/socket"
)

// TestExchangeAfterPeerRefused: a peer that sent its info and then closed
// (having refused ours, say as a mismatch) still gives its info to the
// other end, so that both ends can tell why; with both the info and the
// close ready, Exchange used to pick one at random.
func TestExchangeAfterPeerRefused(t *testing.T) {
	for range 100 {
		c := newConn()
		c.slots[0] <- socket.PortInfo{ZMTPType: "PUSH"} // end 0 sent its info
		c.ends[0].Close()                               // then refused
		peer, err := c.ends[1].Exchange(context.Background(), socket.PortInfo{ZMTPType: "ROUTER"})
		if err != nil || peer.ZMTPType != "PUSH" {
			t.Fatalf("Exchange = %+v, %v; want the peer's info", peer, err)
		}
	}
	// A peer that closed without sending anything is an error.
	c := newConn()
	c.ends[0].Close()
	if _, err := c.ends[1].Exchange(context.Background(), socket.PortInfo{}); err == nil {
		t.Fatal("Exchange with a closed peer that sent nothing succeeded")
	}
}
