package req_test

import (
	"fmt"
	"testing"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// A hand-written rep0 peer answers each request with an arbitrary payload;
// streamtest.RequesterHarness checks what req0 makes of it.
var requester = streamtest.Requester{
	New:       req.New,
	NewRaw:    req.NewRaw,
	Options:   nil,
	PeerProto: sp.ProtoRep0,
	NewContext: func(s *socket.Socket) (streamtest.Conversation, error) {
		return req.NewContext(s)
	},
	Noun: "request",
}

// FuzzReplyID drives req, cooked and raw, with arbitrary request answers.
func FuzzReplyID(f *testing.F) {
	for _, sd := range streamtest.RequesterSeeds() {
		f.Add(sd.Reply, sd.WithID, false)
		f.Add(sd.Reply, sd.WithID, true)
	}
	var hs [2]*streamtest.RequesterHarness
	for i := range hs {
		hs[i] = requester.NewHarness(f, i == 1, streamtest.URL(i == 1))
		f.Cleanup(func() { hs[i].Socket().Close() })
	}
	f.Fuzz(func(t *testing.T, reply []byte, withID, raw bool) {
		if len(reply) > 1<<16 {
			reply = reply[:1<<16]
		}
		h := hs[0]
		if raw {
			h = hs[1]
		}
		h.Check(t, reply, withID)
	})
}

func TestReplyIDOverTCPAndIPC(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		for _, raw := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/raw=%v", tr, raw), func(t *testing.T) {
				t.Parallel()
				h := requester.NewHarness(t, raw, testutil.URL(t, tr))
				defer h.Socket().Close()
				for i, sd := range streamtest.RequesterSeeds() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { h.Check(t, sd.Reply, sd.WithID) })
				}
			})
		}
	}
}
