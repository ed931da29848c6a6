// Package ws stands in for mangos's transport package of the same name,
// so that mangos code's imports resolve: the sockets of package mangos have
// every mqwire transport (ws:// among them) without it. Importing it
// registers the transport with mqwire, as mangos code expects.
package ws

import _ "github.com/mqwire/mqwire/transport/ws" // registers the transport

// OptionWebSocketHandler, read from a ws:// or wss:// Listener before its
// Listen, returns an http.Handler to mount on the application's own HTTP
// server: the listener then takes its connections from that server (which
// keeps its port and its TLS) and Listen binds nothing, as with mangos. The
// handler is mqwire's (transport/ws.Handler): it refuses a browser's
// request whose Origin names another host, as mangos's does by default.
const OptionWebSocketHandler = "WEBSOCKET-HANDLER"
