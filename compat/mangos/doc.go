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
//     range with ErrBadValue. mangos does the same for most, so code that
//     works with mangos works here, except for the options below.
//   - OptionNoDelay only takes true (mqwire always sends at once);
//     OptionBestEffort and OptionFailNoPeers are not offered
//     (ErrBadOption); OptionReadQLen and OptionWriteQLen are mqwire's
//     receive and send high-water marks, in messages per pipe; they must be
//     set before the first Dial or Listen.
//   - OptionReconnectTime and OptionMaxReconnectTime are the socket's: a
//     dialer's own value (NewDialer's options, Dialer.SetOption) must equal
//     the socket's or fails with ErrBadOption.
//   - Contexts: req, rep, surveyor and respondent have them; sub's
//     per-context subscriptions are not offered (OpenContext fails with
//     ErrProtoOp, as it does on the other protocols).
//   - mangos's experimental star protocol, custom protocols
//     (protocol.Protocol, NewProtocol) and custom transports are not
//     offered.
//   - A received message's body is the caller's: Message.Free does not
//     recycle it (mqwire's pool is not mangos's), so Free is only a
//     reference count, as Clone and MakeUnique expect.
//
// Errors that have no mangos counterpart are returned as mqwire's, usable
// with errors.Is against the socket package's errors.
package mangos
