// Package rep is the rep0 pattern: receive a request, send its reply. The
// reply goes back to the peer the request came from, with the request's
// backtrace, so it crosses devices correctly. Contexts (NewContext) let many
// goroutines serve requests on one socket at once.
package rep

import (
	"github.com/mqwire/mqwire/internal/replier"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// Context serves one request at a time, independently of other contexts.
type Context = replier.Context

// DefaultTTL is the default hop limit.
const DefaultTTL = replier.DefaultTTL

func info(raw bool) socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoRep0, Peer: sp.ProtoReq0, Name: "rep0", PeerName: "req0", CanSend: true, CanRecv: true, Raw: raw, ZMTPType: zmtp.TypeREP}
}

// New returns a rep0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(replier.New(info(false)), opts...)
}

// NewRaw returns a raw rep0 socket: Recv returns requests whose header holds
// the pipe id and the backtrace; Send routes a message by that header.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(replier.New(info(true)), opts...)
}

// NewContext returns a new context on a cooked rep0 socket.
func NewContext(s *socket.Socket) (*Context, error) { return replier.NewContext(s) }

// TTL sets the hop limit, 1 to 15 (default 8): requests that crossed more
// devices are dropped.
func TTL(n int) socket.Option {
	return socket.ProtocolOption("rep.TTL", func(p *replier.Proto) error { return p.SetTTL(n) })
}
