// Package core is the socket of package mangos on an mqwire socket: the
// protocol packages (.../protocol/req and the like) make theirs here.
package core

import (
	"context"
	"time"

	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every transport, whatever mangos transports are imported
)

// nativeContext is what mqwire's req, rep, surveyor, respondent and sub
// contexts have in common.
type nativeContext interface {
	Send(ctx context.Context, m *socket.Message) error
	Recv(ctx context.Context) (*socket.Message, error)
	Close() error
}

// subscriber is a context with subscriptions of its own (sub's).
type subscriber interface {
	Subscribe(prefix []byte) error
	Unsubscribe(prefix []byte) error
}

// subContext is a sub context as a nativeContext: it cannot send.
type subContext struct{ *sub.Context }

func (subContext) Send(context.Context, *socket.Message) error { return socket.ErrNotSupported }

// protocol is what the shim knows of one mangos protocol.
type protocol struct {
	info        mangos.ProtocolInfo
	newCooked   func(...socket.Option) (*socket.Socket, error)
	newRaw      func(...socket.Option) (*socket.Socket, error)
	openContext func(*socket.Socket) (nativeContext, error) // nil: none
	// options are the protocol's own options (beyond those every socket
	// has) with their defaults, for cooked and raw sockets.
	cooked, raw map[string]interface{}
	// ttl sets OptionTTL, where the protocol has it.
	ttl func(int) socket.Option
	// bestEffort and failNoPeers say whether the protocol has
	// OptionBestEffort and OptionFailNoPeers (both forms), as mangos's
	// has them.
	bestEffort, failNoPeers bool
}

func info(self, peer uint16, selfName, peerName string) mangos.ProtocolInfo {
	return mangos.ProtocolInfo{Self: self, Peer: peer, SelfName: selfName, PeerName: peerName}
}

// protocols are the protocols the shim offers, by SP number.
var protocols = map[uint16]*protocol{
	mangos.ProtoBus: {info: info(mangos.ProtoBus, mangos.ProtoBus, "bus", "bus"),
		newCooked: bus.New, newRaw: bus.NewRaw},
	mangos.ProtoPair: {info: info(mangos.ProtoPair, mangos.ProtoPair, "pair", "pair"),
		bestEffort: true,
		newCooked:  pair.New, newRaw: pair.NewRaw},
	mangos.ProtoPair1: {info: info(mangos.ProtoPair1, mangos.ProtoPair1, "pair1", "pair1"),
		bestEffort: true,
		newCooked:  pair1.New, newRaw: pair1.NewRaw,
		cooked: map[string]interface{}{mangos.OptionTTL: pair1.DefaultTTL},
		raw:    map[string]interface{}{mangos.OptionTTL: pair1.DefaultTTL},
		ttl:    pair1.TTL},
	mangos.ProtoPub: {info: info(mangos.ProtoPub, mangos.ProtoSub, "pub", "sub"),
		newCooked: pub.New, newRaw: pub.NewRaw},
	mangos.ProtoSub: {info: info(mangos.ProtoSub, mangos.ProtoPub, "sub", "pub"),
		newCooked: sub.New, newRaw: sub.NewRaw,
		openContext: func(s *socket.Socket) (nativeContext, error) {
			c, err := sub.NewContext(s)
			if err != nil {
				return nil, err
			}
			return subContext{c}, nil
		},
		cooked: map[string]interface{}{mangos.OptionSubscribe: nil, mangos.OptionUnsubscribe: nil}},
	mangos.ProtoPush: {info: info(mangos.ProtoPush, mangos.ProtoPull, "push", "pull"),
		bestEffort: true, failNoPeers: true,
		newCooked: push.New, newRaw: push.NewRaw},
	mangos.ProtoPull: {info: info(mangos.ProtoPull, mangos.ProtoPush, "pull", "push"),
		newCooked: pull.New, newRaw: pull.NewRaw},
	mangos.ProtoReq: {info: info(mangos.ProtoReq, mangos.ProtoRep, "req", "rep"),
		bestEffort: true, failNoPeers: true,
		newCooked: req.New, newRaw: req.NewRaw,
		openContext: func(s *socket.Socket) (nativeContext, error) { return req.NewContext(s) },
		cooked:      map[string]interface{}{mangos.OptionRetryTime: time.Minute}},
	mangos.ProtoRep: {info: info(mangos.ProtoRep, mangos.ProtoReq, "rep", "req"),
		bestEffort: true,
		newCooked:  rep.New, newRaw: rep.NewRaw,
		openContext: func(s *socket.Socket) (nativeContext, error) { return rep.NewContext(s) },
		cooked:      map[string]interface{}{mangos.OptionTTL: rep.DefaultTTL},
		raw:         map[string]interface{}{mangos.OptionTTL: rep.DefaultTTL},
		ttl:         rep.TTL},
	mangos.ProtoSurveyor: {info: info(mangos.ProtoSurveyor, mangos.ProtoRespondent, "surveyor", "respondent"),
		newCooked: surveyor.New, newRaw: surveyor.NewRaw,
		openContext: func(s *socket.Socket) (nativeContext, error) { return surveyor.NewContext(s) },
		cooked:      map[string]interface{}{mangos.OptionSurveyTime: surveyor.DefaultSurveyTime}},
	mangos.ProtoRespondent: {info: info(mangos.ProtoRespondent, mangos.ProtoSurveyor, "respondent", "surveyor"),
		bestEffort: true,
		newCooked:  respondent.New, newRaw: respondent.NewRaw,
		openContext: func(s *socket.Socket) (nativeContext, error) { return respondent.NewContext(s) },
		cooked:      map[string]interface{}{mangos.OptionTTL: respondent.DefaultTTL},
		raw:         map[string]interface{}{mangos.OptionTTL: respondent.DefaultTTL},
		ttl:         respondent.TTL},
}
