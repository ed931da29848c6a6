package socket_test

import (
	"context"
	"fmt"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// CURVE between a server, whose public key its clients know, and a client
// the server lets in by its public key. Keys would come from configuration,
// in Z85 as libzmq's tools print them (zmtp.ParseCurveKey); here they are
// made on the spot.
func ExampleCurveServer() {
	serverPublic, serverSecret, _ := zmtp.NewCurveKeyPair()
	clientPublic, clientSecret, _ := zmtp.NewCurveKeyPair()

	allowed := map[zmtp.CurveKey]string{clientPublic: "client-1"}
	auth := func(_ context.Context, r socket.ZAPRequest) socket.ZAPReply {
		if name, ok := allowed[zmtp.CurveKey(r.Credentials[0])]; ok {
			return socket.ZAPReply{StatusCode: socket.ZAPOK, UserID: name}
		}
		return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "unknown key"}
	}
	server, _ := rep.New(socket.CurveServer(serverSecret, auth))
	defer server.Close()
	l, _ := server.Listen("tcp://127.0.0.1:0")

	client, _ := req.New(socket.CurveClient(serverPublic, clientPublic, clientSecret))
	defer client.Close()
	client.Dial(l.URL())

	client.SendBytes([]byte("hello"))
	m, _ := server.Recv()
	fmt.Printf("%s from %s\n", m.Body, server.Pipe(m.Pipe).UserID())
	server.Send(m) // echo
	reply, _ := client.RecvBytes()
	fmt.Printf("%s\n", reply)
	// Output:
	// hello from client-1
	// hello
}
