package mangos_test

import (
	"testing"

	"go.nanomsg.org/mangos/v3"
	mgpull "go.nanomsg.org/mangos/v3/protocol/pull"
	mgpush "go.nanomsg.org/mangos/v3/protocol/push"
	_ "go.nanomsg.org/mangos/v3/transport/tlstcp" // registers tls+tcp:// with mangos

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// tls+tcp against mangos' TLS transport, each side listening in turn.
func TestTLSWithMangos(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	t.Run("mqwire-listens", func(t *testing.T) {
		mq := newMQ(t)(pull.New(socket.TLSConfig(certs.ServerConfig())))
		mg := newPeer(t)(mgpush.NewSocket())
		defer closeBoth(t, mq, mg)
		ln, err := mq.Listen("tls+tcp://127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := mg.DialOptions(ln.URL(), map[string]any{mangos.OptionTLSConfig: certs.ClientConfig()}); err != nil {
			t.Fatal(err)
		}
		mgSend(t, mg, []byte("from mangos"))
		same(t, "mqwire", mqRecv(t, mq), []byte("from mangos"))
	})
	t.Run("mangos-listens", func(t *testing.T) {
		mq := newMQ(t)(push.New(socket.TLSConfig(certs.ClientConfig())))
		mg := newPeer(t)(mgpull.NewSocket())
		defer closeBoth(t, mq, mg)
		l, err := mg.NewListener("tls+tcp://127.0.0.1:0", map[string]any{mangos.OptionTLSConfig: certs.ServerConfig()})
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
