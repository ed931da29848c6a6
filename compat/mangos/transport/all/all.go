// Package all stands in for mangos's transport package of the same name,
// so that mangos code's imports resolve: the sockets of package mangos have
// every mqwire transport (every transport among them) without it. Importing it
// registers the transport with mqwire, as mangos code expects.
package all

import _ "github.com/mqwire/mqwire/transport/all" // registers the transport
