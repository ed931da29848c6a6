package core

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mqwire/mqwire/compat/mangos"
	shimws "github.com/mqwire/mqwire/compat/mangos/transport/ws"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ws"
)

// A ws:// or wss:// listener of the shim serves its socket in one of
// three ways, as mangos's does: through mqwire's own ws listener (Listen);
// through a handler the application mounts on its server
// (OptionWebSocketHandler); or through an HTTP server of its own whose mux
// the application adds handlers to (OptionWebSocketMux).

// wsListenerOptions are a ws:// or wss:// listener's options of its own.
var wsListenerOptions = []string{shimws.OptionWebSocketCheckOrigin}

// isWS reports whether addr is a ws:// or wss:// address.
func isWS(addr string) bool {
	scheme, _, _ := strings.Cut(addr, "://")
	return strings.HasPrefix(scheme, "ws")
}

// allowAnyOrigin is the origin policy of OptionWebSocketCheckOrigin false.
func allowAnyOrigin(*http.Request) bool { return true }

// checksOrigin reports OptionWebSocketCheckOrigin: true unless set false.
func (l *listener) checksOrigin() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.vals[shimws.OptionWebSocketCheckOrigin].(bool)
	return !ok || v
}

// originOptions returns the listen options of the origin policy for
// mqwire's own ws listener.
func (l *listener) originOptions() []socket.ListenOption {
	if !isWS(l.addr) || !l.checksOrigin() {
		return nil
	}
	return []socket.ListenOption{ws.CheckOrigin(nil)}
}

// setHandlerOrigin applies the origin policy to l's handler.
func (l *listener) setHandlerOrigin(h *ws.Handler) {
	if l.checksOrigin() {
		h.CheckOrigin(nil)
	} else {
		h.CheckOrigin(allowAnyOrigin)
	}
}

// webSocketHandler is OptionWebSocketHandler: it starts the listener on a
// handler for the application's HTTP server and returns it.
func (l *listener) webSocketHandler() (interface{}, error) {
	l.handlerMu.Lock()
	defer l.handlerMu.Unlock()
	if l.handler != nil {
		return l.handler, nil
	}
	if l.mux != nil {
		return nil, mangos.ErrBadOption
	}
	if err := l.start(); err != nil {
		return nil, err
	}
	h, err := ws.NewHandler(l.k.s, l.addr)
	if err != nil {
		l.failed()
		return nil, mapErr(err, false)
	}
	l.setHandlerOrigin(h)
	if err := l.begun(h.Listener()); err != nil {
		return nil, err
	}
	l.handler = h
	return h, nil
}

// webSocketMux is OptionWebSocketMux: the mux Listen will serve.
func (l *listener) webSocketMux() (interface{}, error) {
	l.handlerMu.Lock()
	defer l.handlerMu.Unlock()
	if l.handler != nil {
		return nil, mangos.ErrBadOption
	}
	if l.mux == nil {
		l.mux = http.NewServeMux()
	}
	return l.mux, nil
}

// serveMux starts an HTTP server of the listener's own on its address,
// serving its mux with the socket's handler at the URL's path.
func (l *listener) serveMux(mux *http.ServeMux) error {
	u, err := url.Parse(l.addr)
	if err != nil {
		return mangos.ErrBadAddr
	}
	var tcfg *tls.Config
	if strings.HasPrefix(u.Scheme, "wss") {
		if tcfg = l.tls(); tcfg == nil {
			v, _ := l.k.GetOption(mangos.OptionTLSConfig)
			tcfg, _ = v.(*tls.Config)
		}
		if tcfg == nil {
			return mangos.ErrTLSNoConfig
		}
		if len(tcfg.Certificates) == 0 && tcfg.GetCertificate == nil {
			return mangos.ErrTLSNoCert
		}
	}
	if err := l.start(); err != nil {
		return err
	}
	host := u.Host
	if h, port, err := net.SplitHostPort(host); err == nil && h == "*" {
		host = net.JoinHostPort("", port)
	}
	network := "tcp" + strings.TrimPrefix(strings.TrimPrefix(u.Scheme, "wss"), "ws")
	ln, err := net.Listen(network, host)
	if err != nil {
		l.failed()
		return mapErr(socket.ListenError(err, l.addr), false)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	bound := u.Scheme + "://" + ln.Addr().String() + path
	h, err := ws.NewHandler(l.k.s, bound)
	if err != nil {
		ln.Close()
		l.failed()
		return mapErr(err, false)
	}
	l.setHandlerOrigin(h)
	mux.Handle(path, h)
	if tcfg != nil {
		ln = tls.NewListener(ln, tcfg)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m := &muxServer{srv: srv, h: h, url: bound, served: make(chan struct{})}
	go func() {
		defer close(m.served)
		srv.Serve(ln)
	}()
	return l.begun(m)
}

// muxServer is what serveMux started: closing it stops the server and the
// socket's listener (and the pipes it accepted).
type muxServer struct {
	srv    *http.Server
	h      *ws.Handler
	url    string
	served chan struct{} // closed when Serve has returned
}

func (m *muxServer) Close() error {
	m.h.Listener().Close()
	err := m.srv.Shutdown(context.Background())
	<-m.served
	return err
}
