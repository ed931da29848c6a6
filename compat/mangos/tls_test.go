package mangos_test

import (
	"bytes"
	"strings"
	"testing"

	"go.nanomsg.org/mangos/v3"
	mgpull "go.nanomsg.org/mangos/v3/protocol/pull"
	mgpush "go.nanomsg.org/mangos/v3/protocol/push"
	mreq "go.nanomsg.org/mangos/v3/protocol/req"
	_ "go.nanomsg.org/mangos/v3/transport/tlstcp" // registers tls+tcp:// with mangos
	_ "go.nanomsg.org/mangos/v3/transport/wss"    // registers wss:// with mangos

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/socket"
)

// tls+tcp and wss (WebSocket over TLS) against mangos' transports, each
// side listening in turn.
func TestTLSWithMangos(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	for _, listenURL := range []string{"tls+tcp://127.0.0.1:0", "wss://127.0.0.1:0/tls"} {
		scheme, _, _ := strings.Cut(listenURL, "://")
		t.Run(scheme+"/mqwire-listens", func(t *testing.T) {
			mq := newMQ(t)(pull.New(socket.TLSConfig(certs.ServerConfig())))
			mg := newPeer(t)(mgpush.NewSocket())
			defer closeBoth(t, mq, mg)
			ln, err := mq.Listen(listenURL)
			if err != nil {
				t.Fatal(err)
			}
			if err := mg.DialOptions(ln.URL(), map[string]any{mangos.OptionTLSConfig: certs.ClientConfig()}); err != nil {
				t.Fatal(err)
			}
			mgSend(t, mg, []byte("from mangos"))
			same(t, "mqwire", mqRecv(t, mq), []byte("from mangos"))
		})
		t.Run(scheme+"/mangos-listens", func(t *testing.T) {
			mq := newMQ(t)(push.New(socket.TLSConfig(certs.ClientConfig())))
			mg := newPeer(t)(mgpull.NewSocket())
			defer closeBoth(t, mq, mg)
			l, err := mg.NewListener(listenURL, map[string]any{mangos.OptionTLSConfig: certs.ServerConfig()})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Listen(); err != nil {
				t.Fatal(err)
			}
			if _, err := mq.Dial(l.Address()); err != nil {
				t.Fatal(err)
			}
			mqSend(t, mq, []byte("from mqwire"))
			same(t, "mangos", mgRecv(t, mg), []byte("from mqwire"))
		})
	}
}

// A mangos REQ asks an mqwire REP over tls+tcp, small and large requests
// in turn: mqwire's REP reads through and seals its replies on its own
// goroutine (socket/tls_through.go), and each reply comes back whole.
func TestTLSRequestsFromMangos(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	mq := newMQ(t)(rep.New(socket.TLSConfig(certs.ServerConfig()), socket.MaxRecvSize(0)))
	mg := newPeer(t)(mreq.NewSocket())
	defer closeBoth(t, mq, mg)
	ln, err := mq.Listen("tls+tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := mg.SetOption(mangos.OptionMaxRecvSize, 0); err != nil {
		t.Fatal(err)
	}
	if err := mg.DialOptions(ln.URL(), map[string]any{mangos.OptionTLSConfig: certs.ClientConfig()}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			m, err := mq.Recv()
			if err != nil {
				return
			}
			m.Body = append(m.Body, '!')
			if mq.Send(m) != nil {
				return
			}
		}
	}()
	sizes := []int{1, 64, 1000, 70 << 10, 16, 300 << 10, 64}
	for i := range 60 {
		req := bytes.Repeat([]byte{byte(i)}, sizes[i%len(sizes)])
		mgSend(t, mg, req)
		same(t, "mangos", mgRecv(t, mg), append(req, '!'))
	}
}
