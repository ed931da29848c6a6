// Package mangos is the API of go.nanomsg.org/mangos/v3 (v3.4.2) on mqwire:
// code written for mangos moves to mqwire by changing its import paths,
// from "go.nanomsg.org/mangos/v3" to "github.com/mqwire/mqwire/compat/mangos"
// (and .../protocol/req and the like, .../transport/all and the like).
//
// The sockets are mqwire's SP sockets, so they talk to nng, nanomsg and
// mangos peers as mqwire's do, and they have mqwire's transports
// (inproc, ipc, tcp, tls+tcp, ws, wss, shm) whatever transport packages are
// imported: the transport packages here are empty, kept so that the
// imports of mangos code resolve.
//
// What is mangos's here: the Socket, Context, Dialer, Listener and Pipe
// interfaces, Message, the string-keyed options with mangos's names, value
// types and defaults, the errors as values to compare with ==, Dial that
// makes its first attempt before returning (OptionDialAsynch to not), pipe
// event hooks that run synchronously and can refuse a pipe, Device, and the
// protocols: bus, pair, pair1, pub, sub, push, pull, req, rep, surveyor,
// respondent, and their raw forms (xbus, ... xrespondent).
//
// Where it departs from mangos:
//
//   - Every option is checked when it is set: an option a socket does not
//     have fails with ErrBadOption, a value of the wrong type or out of
//     range with ErrBadValue (the bare values, as mangos code compares them
//     with ==). mangos does the same for most, so code that works with
//     mangos works here, except for the options below.
//   - OptionNoDelay only takes true (mqwire always sends at once);
//     OptionPeerZone is not offered (ErrBadOption; OptionPeerPID, UID and
//     GID are, on Linux); ipc's OptionIpcSocketPermissions, Owner and
//     Group are set before the listener listens, and a Listen whose chmod
//     or chown fails fails (mangos sets them after, best effort);
//     OptionReadQLen and
//     OptionWriteQLen are mqwire's receive and send high-water marks, in
//     messages per pipe, for the connections made after they are set; a
//     dialer's WebSocket pipe gives as OptionHTTPRequest the request it
//     sent with the answer's header fields.
//   - OptionMaxRecvSize, OptionKeepAlive, OptionKeepAliveTime,
//     OptionReconnectTime and OptionMaxReconnectTime are the socket's: a
//     dialer's or listener's own value (NewDialer's and NewListener's
//     options, their SetOption) must equal the socket's or fails with
//     ErrBadOption. OptionTLSConfig and OptionDialAsynch can differ.
//   - Contexts: req, rep, surveyor, respondent and sub have them (a sub
//     context with its own subscriptions and its own OptionReadQLen, as
//     mangos's: changing it keeps the newest messages waiting, where
//     mangos drops them all); OpenContext fails with ErrProtoOp on the
//     other protocols, as in mangos.
//   - mangos's experimental star protocol, custom protocols
//     (protocol.Protocol, NewProtocol) and custom transports (package
//     transport, each transport package's Transport) are not offered;
//     every other exported name of mangos's packages is here
//     (TestAPICoversMangos checks it against mangos's source), among
//     them package errors, and ipc's OptionInputBufferSize and
//     OptionOutputBufferSize, which are refused (ErrBadOption) since
//     mqwire's ipc is not a Windows named pipe. The ws transport's options are: OptionWebSocketHandler (a
//     listener served on the application's own HTTP server),
//     OptionWebSocketMux (the mux of a server of the listener's own,
//     which Listen serves) and OptionWebSocketCheckOrigin (true by
//     default: a browser's request from another host's page is refused
//     with 403, as mangos's is).
//   - The pipe event hook runs on the goroutine handling the pipe for all
//     three events (mangos runs PipeEventDetached on a goroutine of its
//     own), so a hook must not close its socket, which waits for that
//     goroutine.
//   - Messages: as in mangos, Message.Free recycles a message and its body
//     (into mqwire's pool), so neither may be used after Free or after a
//     SendMsg that succeeded. Recv's []byte is the caller's for good. A
//     large message received over shm:// is copied out of shared memory
//     before the application sees it (mqwire's own API can loan it).
//
// Speed: the shim adds little to mqwire's sockets. A message from
// NewMessage, or one received, is sent without a copy while its body stays
// in place, and RecvMsg hands over the received memory; with messages
// freed after use, streaming costs no allocation. Recv copies a body of up
// to 16 KiB out (one allocation, the slice it returns) and hands a larger
// one over. BenchmarkShimPushPull, 64-byte push/pull over tcp and ipc on
// one machine: 4.6-8 M messages a second with messages, 3.6-5.4 M with byte
// slices, against mangos's 0.1-0.2 M either way.
//
// Errors that have no mangos counterpart are returned as mqwire's, usable
// with errors.Is against the socket package's errors.
package mangos
