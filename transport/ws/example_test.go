package ws_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ws"
)

// A REP serves requests over WebSocket at a path, as an nng or mangos REP
// would: nng's and mangos' REQ sockets, or a browser's WebSocket offering
// "rep.sp.nanomsg.org", can dial it; and so can libzmq's REQ and DEALER,
// which speak ZMTP over WebSocket (ZWS 2.0), as mqwire does when it dials
// in ZMTP.
func Example() {
	server, _ := rep.New()
	defer server.Close()
	l, err := server.Listen("ws://127.0.0.1:0/rpc")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasSuffix(l.URL(), "/rpc"))
	go func() {
		for {
			m, err := server.Recv()
			if err != nil {
				return // closed
			}
			m.Body = append([]byte("re: "), m.Body...)
			server.Send(m)
		}
	}()

	for _, dialect := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
		client, _ := req.New(socket.DialDialect(dialect))
		client.Dial(l.URL())
		client.SendBytes([]byte("ping"))
		reply, _ := client.RecvBytes()
		fmt.Printf("%s %s\n", reply, client.PipeStats()[0].Dialect)
		client.Close()
	}
	// Output:
	// true
	// re: ping sp
	// re: ping zmtp
}

// A REP served on the application's own HTTP server, at /rpc beside its
// other pages: the server keeps its port, routing and TLS, and hands the
// WebSocket clients that ask for /rpc to the socket.
func ExampleNewHandler() {
	server, _ := rep.New()
	defer server.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := ws.NewHandler(server, "ws://"+ln.Addr().String()+"/rpc")
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/rpc", h)
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	web := &http.Server{Handler: mux}
	go web.Serve(ln)
	defer web.Close()
	go func() {
		for {
			m, err := server.Recv()
			if err != nil {
				return // closed
			}
			m.Body = append([]byte("re: "), m.Body...)
			server.Send(m)
		}
	}()

	client, _ := req.New()
	defer client.Close()
	client.Dial(h.Listener().URL())
	client.SendBytes([]byte("ping"))
	reply, _ := client.RecvBytes()
	fmt.Printf("%s\n", reply)
	resp, err := http.Get("http://" + ln.Addr().String() + "/health")
	if err != nil {
		fmt.Println(err)
		return
	}
	health, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%s\n", health)
	// Output:
	// re: ping
	// ok
}

// A dialer that sends a token with its opening handshake, for a server or
// proxy that wants one before it upgrades.
func ExampleDialHeader() {
	server, _ := rep.New()
	defer server.Close()
	l, err := server.Listen("ws://127.0.0.1:0/rpc")
	if err != nil {
		fmt.Println(err)
		return
	}
	client, _ := req.New()
	defer client.Close()
	_, err = client.Dial(l.URL(), ws.DialHeader(http.Header{"Authorization": {"Bearer a-token"}}))
	fmt.Println(err)
	// Output: <nil>
}
