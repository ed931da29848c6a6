package mangos_test

import (
	"errors"
	"net"
	"net/http"
	"testing"

	mgreq "go.nanomsg.org/mangos/v3/protocol/req"
	_ "go.nanomsg.org/mangos/v3/transport/ws"
	_ "go.nanomsg.org/mangos/v3/transport/wss"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwrep "github.com/mqwire/mqwire/compat/mangos/protocol/rep"
	mwws "github.com/mqwire/mqwire/compat/mangos/transport/ws"
	"github.com/mqwire/mqwire/internal/testutil"
)

// ws.OptionWebSocketHandler, as mangos's websocket example uses it: a
// listener read for its handler is served through the application's HTTP
// server, Listen after that binds nothing, a mangos REQ reaches it, and
// Close lets go of it. The option is a ws:// listener's only.
func TestShimWebSocketHandler(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := shim(t, mwrep.NewSocket)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/rpc"
	l, err := s.NewListener(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.GetOption(mwws.OptionWebSocketHandler)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := l.GetOption(mwws.OptionWebSocketHandler); again != h {
		t.Error("a second read of the handler gave another")
	}
	mux := http.NewServeMux()
	mux.Handle("/rpc", h.(http.Handler))
	web := &http.Server{Handler: mux}
	go web.Serve(ln)
	defer web.Close()
	if err := l.Listen(); err != nil {
		t.Fatalf("Listen after the handler: %v", err)
	}
	if l.Address() != url {
		t.Errorf("address %q, want %q", l.Address(), url)
	}

	mangosPing(t, s, url, nil)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	tcp, err := s.NewListener(testutil.URL(t, "tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tcp.GetOption(mwws.OptionWebSocketHandler); !errors.Is(err, mw.ErrBadOption) {
		t.Errorf("the handler of a tcp listener: %v, want ErrBadOption", err)
	}
}

// A pipe tells its opening request (OptionHTTPRequest) over ws and its
// TLS state (OptionTLSConnState) over wss, as mangos's pipes do; over ws
// there is no TLS state.
func TestShimPipeConnInfo(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	for _, scheme := range []string{"ws", "wss"} {
		s := shim(t, mwrep.NewSocket)
		if err := s.SetOption(mw.OptionTLSConfig, certs.ServerConfig()); err != nil {
			t.Fatal(err)
		}
		type seen struct {
			path  string
			tls   bool
			agent string
		}
		got := make(chan seen, 1)
		s.SetPipeEventHook(func(ev mw.PipeEvent, p mw.Pipe) {
			if ev != mw.PipeEventAttached {
				return
			}
			var sn seen
			if v, err := p.GetOption(mw.OptionHTTPRequest); err == nil {
				r := v.(*http.Request)
				sn.path, sn.agent = r.URL.Path, r.Header.Get("Sec-WebSocket-Protocol")
			}
			_, err := p.GetOption(mw.OptionTLSConnState)
			sn.tls = err == nil
			got <- sn
		})
		l, err := s.NewListener(scheme+"://127.0.0.1:0/rpc", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Listen(); err != nil {
			t.Fatal(err)
		}
		c, err := mgreq.NewSocket()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.DialOptions(l.Address(), map[string]interface{}{mw.OptionTLSConfig: certs.ClientConfig()}); err != nil {
			t.Fatal(err)
		}
		sn := <-got
		if sn.path != "/rpc" || sn.agent != "rep.sp.nanomsg.org" || sn.tls != (scheme == "wss") {
			t.Errorf("%s: pipe told %+v", scheme, sn)
		}
	}
}

// mangosPing has a mangos REQ dial url (with opts) and checks that the
// shim's REP s answers its request.
func mangosPing(t *testing.T, s mw.Socket, url string, opts map[string]interface{}) {
	t.Helper()
	c, err := mgreq.NewSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetOption(mw.OptionRecvDeadline, timeout)
	if err := c.DialOptions(url, opts); err != nil {
		t.Fatal(err)
	}
	if err := c.Send([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	shimSend(t, s, append(shimRecv(t, s), " pong"...))
	if b, err := c.Recv(); err != nil || string(b) != "ping pong" {
		t.Fatalf("mangos req got %q %v", b, err)
	}
}
