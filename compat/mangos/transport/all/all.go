// Package all stands in for mangos's transport package of the same name,
// so that mangos code's imports resolve: the sockets of package mangos have
// every mqwire transport (every transport among them) without it. Importing it
// registers the transport with mqwire, as mangos code expects.
package all

import (
	"github.com/mqwire/mqwire/compat/mangos"
	_ "github.com/mqwire/mqwire/transport/all" // registers the transport
)

// AddTransports does nothing, as in mangos v3, where it is kept for code
// written before transports registered themselves: every socket has every
// transport.
func AddTransports(sock mangos.Socket) {}
