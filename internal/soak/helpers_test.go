package soak_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/inproc"
	_ "github.com/mqwire/mqwire/transport/ipc"
	_ "github.com/mqwire/mqwire/transport/shm"
	_ "github.com/mqwire/mqwire/transport/tcp"
)

// TestMain runs the short soak on one processor: go test runs it beside
// other packages' tests (two packages at once on two cores), and some of
// those time their peers' heartbeats, which a soak holding both cores
// for half a minute under the race detector starved. The race detector
// finds unordered accesses on one processor as on two; MQWIRE_SOAK=1 uses
// every processor.
func TestMain(m *testing.M) {
	if os.Getenv("MQWIRE_SOAK") != "1" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(m.Run())
}

// scale multiplies every case's message count under MQWIRE_SOAK=1.
func scale() int {
	if os.Getenv("MQWIRE_SOAK") == "1" {
		return 100
	}
	return 1
}

// A body is its sender (4 bytes), its sequence number (8), its length (4),
// then bytes that depend on all three.
const headLen = 16

// sizes are the body sizes a sender picks from: mostly small, and the
// edges of the readers' spans (1 KiB copied under the consumer's lock,
// 16 KiB read as a span or not), of a read chunk (64 KiB) and a few
// larger ones.
var sizes = []int{
	headLen, headLen + 1, 40, 64, 64, 64, 64, 100, 100, 200,
	1023, 1024, 1025, 4096,
	16<<10 - 1, 16 << 10, 16<<10 + 1, 64<<10 - 20, 70 << 10, 300 << 10,
}

// pickSize returns a body size, the large ones seldom.
func pickSize(r *rand.Rand) int {
	if r.IntN(8) != 0 {
		return sizes[r.IntN(10)]
	}
	return sizes[r.IntN(len(sizes))]
}

func fill(b []byte, id uint32, seq uint64) {
	binary.BigEndian.PutUint32(b, id)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint32(b[12:], uint32(len(b)))
	x := uint32(seq)*2654435761 + id*40503 + 1
	for i := headLen; i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
}

// check returns the sender and sequence number of a body, or an error if
// its bytes are not the ones fill wrote.
func check(b []byte) (id uint32, seq uint64, err error) {
	if len(b) < headLen {
		return 0, 0, fmt.Errorf("a body of %d bytes", len(b))
	}
	id, seq = binary.BigEndian.Uint32(b), binary.BigEndian.Uint64(b[4:])
	if n := binary.BigEndian.Uint32(b[12:]); int(n) != len(b) {
		return id, seq, fmt.Errorf("sender %d message %d: %d bytes, its header says %d", id, seq, len(b), n)
	}
	want := make([]byte, len(b))
	fill(want, id, seq)
	for i := headLen; i < len(b); i++ {
		if b[i] != want[i] {
			return id, seq, fmt.Errorf("sender %d message %d (%d bytes): byte %d is %#x, want %#x", id, seq, len(b), i, b[i], want[i])
		}
	}
	return id, seq, nil
}

type transportCase struct {
	transport string
	dialect   socket.Dialect
}

func (c transportCase) String() string { return c.transport + "/" + c.dialect.String() }

// cases are the transports and dialects every soak runs over. inproc
// carries messages, not a dialect's bytes: once is enough.
func cases() []transportCase {
	cs := []transportCase{{"inproc", socket.DialectSP}}
	trs := []string{"ipc", "tcp"}
	if runtime.GOOS == "linux" {
		trs = append(trs, "shm")
	}
	for _, tr := range trs {
		for _, d := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
			cs = append(cs, transportCase{tr, d})
		}
	}
	return cs
}

func url(t *testing.T, tr string) string {
	if tr == "shm" {
		return "shm://" + testutil.ShortTempDir(t) + "/s.sock"
	}
	return testutil.URL(t, tr)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// pause sleeps now and then, so that queues fill and the reading changes
// hands between the pipes' readers and the application.
func pause(r *rand.Rand) {
	switch r.IntN(200) {
	case 0:
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
	case 1, 2, 3:
		runtime.Gosched()
	}
}

// recvCtx returns a context for one Recv: mostly none, sometimes a
// deadline, sometimes one so short that the Recv may give up (the caller
// then tries again).
func recvCtx(parent context.Context, r *rand.Rand) (context.Context, context.CancelFunc) {
	switch r.IntN(10) {
	case 0:
		return context.WithTimeout(parent, time.Duration(r.IntN(200))*time.Microsecond)
	case 1, 2:
		return context.WithTimeout(parent, time.Minute)
	}
	return parent, func() {}
}

// failAll closes errs and fails t with each error it holds.
func failAll(t *testing.T, errs chan error) {
	t.Helper()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// recvWithin receives from s, waiting at most d.
func recvWithin(ctx context.Context, s *socket.Socket, d time.Duration) (*socket.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return s.RecvContext(ctx)
}

// greet publishes messages made by hello on p until each subscriber of ss
// has received one, then discards the copies still arriving: after it,
// the publisher has every subscription made before.
func greet(t *testing.T, ctx context.Context, p *socket.Socket, ss []*socket.Socket, hello func() *socket.Message) {
	t.Helper()
	for i, s := range ss {
		for {
			if err := p.SendContext(ctx, hello()); err != nil {
				t.Fatal(err)
			}
			if m, err := recvWithin(ctx, s, 20*time.Millisecond); err == nil {
				m.Free()
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("subscriber %d never got a message", i)
			}
		}
	}
	for _, s := range ss {
		for {
			m, err := recvWithin(ctx, s, 20*time.Millisecond)
			if err != nil {
				break
			}
			m.Free()
		}
	}
}

// begin starts a test: it checks that the test leaves no goroutine
// behind, and returns the seed of its random choices, which it logs so
// that a failure can be replayed.
func begin(t *testing.T) uint64 {
	testutil.CheckGoroutines(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return seed
}
