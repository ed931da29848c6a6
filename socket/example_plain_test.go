package socket_test

import (
	"context"
	"fmt"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/tcp"
)

func ExamplePlainServer() {
	users := map[string]string{"alice": "secret"}
	check := func(ctx context.Context, r socket.ZAPRequest) socket.ZAPReply {
		// An authenticator that asked a database would pass ctx on: it
		// ends when the handshake times out or the socket closes.
		if len(r.Credentials) == 2 && users[string(r.Credentials[0])] == string(r.Credentials[1]) {
			return socket.ZAPReply{StatusCode: socket.ZAPOK, UserID: string(r.Credentials[0])}
		}
		return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "unknown user"}
	}
	sink, _ := pull.New(socket.PlainServer(check))
	defer sink.Close()
	l, err := sink.Listen("tcp://127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}

	source, _ := push.New(socket.DialDialect(socket.DialectZMTP), socket.PlainClient("alice", "secret"))
	defer source.Close()
	source.Dial(l.URL())
	source.Send(socket.NewMessageBytes([]byte("hello")))

	m, _ := sink.Recv()
	fmt.Println(string(m.Body), sink.Pipe(m.Pipe).UserID())
	// Output: hello alice
}
