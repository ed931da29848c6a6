package shm_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// CURVE runs over shm as over any byte stream: the sealed frames go
// through the ring, and large bodies are copied into their boxes rather
// than loaned (a loan would hand the peer plaintext).
func TestCurveOverShm(t *testing.T) {
	testutil.CheckGoroutines(t)
	sPub, sSec, _ := zmtp.NewCurveKeyPair()
	cPub, cSec, _ := zmtp.NewCurveKeyPair()
	s, err := pull.New(socket.CurveServer(sSec, nil), socket.MaxRecvSize(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := push.New(socket.CurveClient(sPub, cPub, cSec))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := s.Listen(shmURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, size := range []int{64, 1 << 10, 300 << 10, 64} {
		body := bytes.Repeat([]byte{byte(i + 1)}, size)
		if err := c.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
			t.Fatal(err)
		}
		m, err := s.RecvContext(ctx)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if !bytes.Equal(m.Body, body) || m.Loaned() {
			t.Fatalf("%d bytes arrived as %d (loaned %v)", size, len(m.Body), m.Loaned())
		}
		m.Free()
	}
	for _, ps := range s.PipeStats() {
		if ps.Dialect != "zmtp" || ps.Mechanism != zmtp.MechanismCurve {
			t.Errorf("pipe %+v", ps)
		}
	}
}
