// Package zmtp is the codec of ZMTP 3.0 and 3.1, the wire protocol of libzmq
// and its relatives, over a byte stream. It works on bytes only: encoders
// append to a []byte, decoders parse bytes and either say how much they
// consumed or return views into their input. It knows nothing of sockets,
// connections or timers; the socket layer drives the handshake with it.
//
// # Wire format
//
// A connection starts with a 64-byte greeting from each side:
//
//	FF  8 bytes of padding  7F          signature (10 bytes)
//	03  minor                           version: 3.0 (minor 0) or 3.1 (minor 1)
//	20 bytes                            mechanism name, NUL padded: NULL, PLAIN, CURVE
//	as-server                           0 or 1
//	31 bytes of zero                    filler
//
// Then comes a stream of frames. A frame is a flags byte (bit 0 MORE, bit 1
// LONG, bit 2 COMMAND, the other bits zero), a size (one byte, or eight bytes
// big-endian when LONG is set) and that many bytes of body. A message is one
// or more data frames, all but the last with MORE set. A command is one frame
// with COMMAND set and MORE clear, whose body is a name length (1 byte), the
// name (ASCII letters) and the command's data.
//
// The security mechanism runs first, as commands. With NULL each side sends
// READY carrying metadata: properties made of a name length (1 byte), the
// name, a value length (4 bytes big-endian) and the value. PLAIN adds HELLO
// (user name and password), WELCOME and INITIATE before READY; a refused
// handshake ends with ERROR and a reason of up to 255 bytes. ZMTP 3.1 adds
// SUBSCRIBE and CANCEL (the topic is the command's data) and the PING / PONG
// heartbeat; ZMTP 3.0 peers carry subscriptions as data messages whose first
// byte is 1 (subscribe) or 0 (cancel), followed by the topic.
//
// # Where libzmq 4.3.4 differs from the RFC prose, and what this package does
//
//   - RFC 37's prose describes a command as a name followed by a NUL
//     separator. libzmq does not do that: it (and this package) puts a
//     one-byte name length in front of the name, as RFC 23 does.
//   - libzmq writes the routing-id length + 1 as a u64 into the signature's
//     padding (for the sake of ZMTP 1.0 peers) and never checks what the peer
//     puts there; neither does this package.
//   - libzmq always sends as-server 0 and never reads the byte; ParseGreeting
//     reports it but does not validate it, nor the filler.
//   - libzmq sends its greeting in pieces: the 10-byte signature, then (once
//     the peer's signature has arrived) the major version, then the rest. A
//     reader must therefore not wait for 64 bytes before sending its own
//     greeting; CheckSignature and CheckRevision let it judge the peer early.
//     libzmq 4.3.4 announces minor version 1 and speaks 3.0 to a peer that
//     announces minor 0.
//   - libzmq 4.3.4 also speaks ZMTP 2.0 to a peer whose revision byte is 1
//     (libzmq 3.x, JeroMQ 0.3): it ends its greeting there with its socket
//     type's number (TypeNumber, TypeName; the peer's greeting is 12 bytes,
//     Greeting20Size), and each side's first frame is its identity (flags
//     0, at most 255 bytes). Then frames are as above, but there are no
//     commands, no mechanism and no metadata; subscriptions are data
//     messages, as in 3.0. That is why libzmq holds the rest of its 3.x
//     greeting until it has the peer's revision: sent at once, a 2.0 peer
//     would read it as a socket type and frames. mqwire's sockets do the
//     same. ZMTP 1.0 (no revision, or revision 0) is not spoken.
//   - libzmq compares metadata property names case-sensitively, while RFC 23
//     says they are case-insensitive. This package sends the exact spellings
//     (PropSocketType, PropIdentity) and matches any case on input
//     (Metadata.Get).
//   - libzmq's frame decoder ignores reserved flag bits and accepts MORE on a
//     command; libzmq never sends either, and this package rejects both. Like
//     libzmq it accepts a LONG frame of any size, though encoders use LONG
//     only above 255 bytes.
//   - libzmq's PLAIN server sends a malformed ERROR: its source spells the
//     prefix "\x05ERROR", and the C hex escape swallows the E, so the body is
//     5E 'R' 'R' 'O' 'R', reason length, reason. libzmq's PLAIN client only
//     recognises that form (a well-formed ERROR makes it report a protocol
//     error instead of an authentication failure). ParseCommand and
//     ParseError accept it; AppendErrorLibzmqPLAIN produces it. libzmq's NULL
//     and CURVE mechanisms send a well-formed ERROR.
//   - libzmq truncates a PING context longer than 16 bytes when it echoes it;
//     this package rejects such a PING, as RFC 37 allows no more.
//
// # Errors and limits
//
// Every violation by the peer is a *wire.ProtocolError with Dialect "zmtp"
// (errors.Is(err, wire.ErrProtocol)); an announced frame size above the
// caller's limit is a *wire.TooLargeError, reported before anything is
// allocated. No decoder allocates according to a length the peer announced:
// lengths are checked against the bytes actually at hand, and the values
// returned are views into the input, valid as long as the input is.
//
// Encoders trust their caller. Names that the wire cannot carry (a command
// or property name that is empty or longer than 255 bytes, a command name
// that is not ASCII letters, a mechanism name longer than 20 bytes, PLAIN
// credentials longer than 255 bytes) make them panic: they come from
// constants or from options that the socket layer validates when they are
// set (see CheckPropertyName and CheckCredential). Fields that are only
// informative (an ERROR reason, a PING context) are cut to their wire limit.
package zmtp
