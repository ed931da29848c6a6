// Package respondent is the respondent0 pattern: receive a survey, send an
// answer (or none). The answer goes back to the surveyor it came from, with its
// backtrace. Contexts (NewContext) let many goroutines answer surveys on
// one socket at once.
package respondent

import (
	"github.com/mqwire/mqwire/internal/replier"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
)

// Context answers one survey at a time, independently of other contexts.
type Context = replier.Context

// DefaultTTL is the default hop limit.
const DefaultTTL = replier.DefaultTTL

func info(raw bool) socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoRespondent, Peer: sp.ProtoSurveyor0, Name: "respondent0", PeerName: "surveyor0", CanSend: true, CanRecv: true, Raw: raw}
}

// New returns a respondent0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(replier.New(info(false)), opts...)
}

// NewRaw returns a raw respondent0 socket: Recv returns surveys whose header holds
// the pipe id and the backtrace; Send routes a message by that header.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(replier.New(info(true)), opts...)
}

// NewContext returns a new context on a cooked respondent0 socket.
func NewContext(s *socket.Socket) (*Context, error) { return replier.NewContext(s) }

// TTL sets the hop limit, 1 to 15 (default 8): surveys that crossed more
// devices are dropped.
func TTL(n int) socket.Option {
	return socket.ProtocolOption("respondent.TTL", func(p *replier.Proto) error { return p.SetTTL(n) })
}
