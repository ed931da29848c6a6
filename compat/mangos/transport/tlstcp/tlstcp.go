// Package tlstcp stands in for mangos's transport package of the same name,
// so that mangos code's imports resolve: the sockets of package mangos have
// every mqwire transport (tls+tcp:// among them) without it. Importing it
// registers the transport with mqwire, as mangos code expects.
package tlstcp

import _ "github.com/mqwire/mqwire/transport/tcp" // registers the transport
