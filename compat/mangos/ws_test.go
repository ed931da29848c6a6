package mangos_test

import (
	"testing"

	"go.nanomsg.org/mangos/v3"
	mpair "go.nanomsg.org/mangos/v3/protocol/pair"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/socket"
)

// TestWSLargeMessage sends a message of 1 MiB and 3 bytes each way between
// mqwire and mangos over ws, with each side listening in turn. mqwire's ws
// transport sends it in 64 KiB frames, which mangos must put back together,
// and takes mangos's as its WebSocket library (gorilla) writes it: in 4 KiB
// frames when mangos dials, in one frame when it listens. Both sides'
// receive limits (1 MiB by default) are raised.
func TestWSLargeMessage(t *testing.T) {
	const size = 1<<20 + 3
	big := func(seed byte) []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*7) + seed
		}
		return b
	}
	for _, mqListens := range []bool{true, false} {
		dir := "mangos-listens"
		if mqListens {
			dir = "mqwire-listens"
		}
		t.Run(dir, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			mq := newMQ(t)(pair.New(socket.MaxRecvSize(2 << 20)))
			mg := newPeer(t)(mpair.NewSocket())
			closeBoth(t, mq, mg)
			if err := mg.SetOption(mangos.OptionMaxRecvSize, 2<<20); err != nil {
				t.Fatal(err)
			}
			connect(t, "ws", mqListens, mq, mg)
			mqSend(t, mq, big(1))
			same(t, "mangos", mgRecv(t, mg), big(1))
			mgSend(t, mg, big(2))
			same(t, "mqwire", mqRecv(t, mq), big(2))
		})
	}
}
