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

// OptionWebSocketMux, read from a ws:// or wss:// Listener before its
// Listen, returns the *http.ServeMux of an HTTP server of the listener's
// own, for the application to add handlers to, as with mangos: Listen
// then binds the address and serves the mux, the socket at the URL's path
// and the application's handlers beside it (over TLS for wss://, with the
// listener's or the socket's OptionTLSConfig). A listener read for its
// mux cannot be read for OptionWebSocketHandler, nor the other way round
// (ErrBadOption; mangos calls using both a gross error).
const OptionWebSocketMux = "WEBSOCKET-MUX"

// OptionWebSocketCheckOrigin (bool, ws:// and wss:// listeners; default
// true, as mangos's): a browser's opening request whose Origin names
// another host than the one it was sent to is refused with 403 Forbidden
// (gorilla's upgrader's policy, which mangos uses). false lets every
// origin in.
const OptionWebSocketCheckOrigin = "WEBSOCKET-CHECKORIGIN"
