// Package bridge carries mqwire messages across package mangos's Message,
// which hides the one it wraps, for package core, which sends and receives
// them. Package mangos sets the functions when it is initialized: it
// cannot import core, which imports it.
package bridge

import "github.com/mqwire/mqwire/socket"

var (
	// Wrap returns a *mangos.Message holding n, whose body (and header,
	// when raw) it uses without a copy; pipe is its mangos.Pipe, or nil.
	Wrap func(n *socket.Message, raw bool, pipe any) any
	// Native returns an mqwire message with m's body (and header, when
	// raw, else none): the one m holds when m's body is still in it and
	// m has no other holder (reused), else a copy. m stays the caller's
	// until Sent.
	Native func(m any, raw bool) (n *socket.Message, reused bool)
	// Sent gives up m once a send took what Native made of it.
	Sent func(m any, reused bool)
)
