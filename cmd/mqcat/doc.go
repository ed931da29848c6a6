// Command mqcat sends and receives Scalability Protocols messages from the
// command line. It is a drop-in for nngcat (nng-utils 1.5.2): it takes the
// same options with the same meaning, prints messages byte for byte as
// nngcat does, and fails with the same messages and exit status, so a script
// written for nngcat runs unchanged with mqcat in its place. It talks to
// nng, nanomsg and mangos peers, to other mqcat processes, and, with the
// options of "ZeroMQ peers" below, to libzmq peers.
//
// # Usage
//
//	mqcat <proto> <addr>... [<fmt>] [<opts>...] [<src>]
//
// Protocol (exactly one): --req0 --rep0 --pub0 --sub0 --push0 --pull0
// --surveyor0 --respondent0 --pair0 --pair1 --bus0, or the same names
// without the 0. --pair is pair1 (pair0 with --compat). For ZeroMQ peers
// also --dealer --router --xpub --xsub (see below).
//
// Addresses (one or more): --dial URL (--connect), --listen URL (--bind),
// -l PORT / --connect-local PORT (dial tcp://127.0.0.1:PORT), -L PORT /
// --bind-local PORT (listen there), -x PATH / --connect-ipc PATH (dial
// ipc:///PATH), -X PATH / --bind-ipc PATH. URLs are tcp://host:port (also
// tcp4, tcp6), ipc:///path, inproc://name, ws://host:port/path (SP over
// WebSocket, as nngcat's; wss:// over TLS) and, on Linux, shm:///path
// (shared memory between processes). A dial waits for the first
// connection and fails the command if it is refused, as nngcat's does;
// --async (or --compat) dials in the background instead.
//
// Output format of received messages (default: none): --format
// no|ascii|hex|msgpack|quoted|raw, or -A/--ascii, -Q/--quoted, --hex,
// --msgpack, --raw. quoted prints a C string and a newline ("a\x01b\"c\n"),
// hex prints every byte as \xNN in quotes and a newline, ascii prints
// printable bytes and '.' for the others with no newline, msgpack prints a
// bin 8/16/32 object, raw the bytes alone. Each message is written as it
// arrives.
//
// Data to send: -D DATA / --data DATA, or -F FILE / --file FILE ("-" is
// standard input).
//
// Other options: --subscribe TOPIC (sub; repeatable; default everything),
// -q/--silent, -v/--verbose (print "Listening at: URL" and "Connected to:
// URL"), -C/--count N, -d/--delay SEC, -i/--interval SEC, --recv-timeout SEC,
// --send-timeout SEC, -Z/--recv-maxsz N (0: no limit; default no limit),
// --version, -h/--help. The ZeroTier option --zt-home and --socket-name are
// accepted and have no effect (mqwire has no ZeroTier transport).
//
// TLS, for tls+tcp:// and wss:// addresses, as in nngcat: --cert FILE (with --key
// FILE, or the key in the same file) is the certificate a listener serves
// and a dialer presents; --cacert FILE is the authority whose certificates
// a dialer trusts (and a listener checks a client's against, if the client
// presents one; as nngcat's, it asks for none); -k/--insecure makes a
// dialer skip checking the server's certificate.
//
// Long options may be abbreviated to a unique prefix and take their value
// as --opt value, --opt=value or --opt:value; short options take -L5555 or
// -L 5555 and cannot be clustered (-vq is an error), as in nngcat. Parsing
// stops at the first argument that is not an option.
//
// # What each protocol does
//
//   - push, pub: send the data once; with --count N, N times; with
//     --interval, every interval (until --count). Then wait 200 ms and exit.
//   - pull, sub: print what arrives, until --count messages or
//     --recv-timeout seconds pass with nothing.
//   - req, surveyor: send the data and print the replies: req until its
//     reply, surveyor until the survey time (1 s) is over. With --interval
//     or --count, repeat every interval, --count times.
//   - rep, respondent: with data, print each request and answer it with the
//     data, until --count requests (a receive timeout is then an error);
//     without data, only print requests.
//   - pair, bus: without data, print what arrives, as pull does; with data,
//     send it as req does and print whatever arrives meanwhile.
//
// --delay waits before the first send.
//
// # ZeroMQ peers
//
// mqcat also talks to libzmq (ZeroMQ 4.x) and other ZMTP 3 peers. These
// options are mqcat's own; a prefix of one names it only when it names no
// nngcat option (--de is still --delay, --z still --zt-home; --dea is
// --dealer).
//
//   - --zmtp makes --req0 --rep0 --pub0 --sub0 --push0 --pull0 --pair0 (and
//     their aliases) the ZeroMQ socket type of that name: its dials speak
//     ZMTP. Other protocols fail with "Protocol does not support --zmtp."
//     (--pair is pair1; use --pair0). A listener of these types accepts
//     both SP and ZMTP peers, with or without --zmtp.
//   - --dealer, --router, --xpub, --xsub are the ZeroMQ-only types; they
//     always speak ZMTP.
//   - --plain-user U --plain-password P (the password may be left out: an
//     empty one): on a command that only dials, PLAIN client credentials
//     (they imply --zmtp); on one that only listens, a PLAIN server that
//     accepts exactly that user and password and refuses every other peer,
//     and every SP peer. A command may not both dial and listen with
//     them. A dial refused by the server fails with "Unable to dial on URL:
//     Peer could not be authenticated".
//   - --curve-server SECRET makes the socket a CURVE server (keys in Z85,
//     as zmq_curve_keypair prints them) that accepts any client key: the
//     traffic is encrypted, clients are not vetted. --curve-serverkey
//     PUBLIC makes it a CURVE client of the server with that public key,
//     with the key pair of --curve-secretkey SECRET or one made for the
//     run. Both imply --zmtp and refuse SP peers.
//
// A multipart message prints its frames on one line, separated by single
// spaces, each in the chosen format ("a" "\x01b" ""): quoted and hex end the
// line after the last frame only; ascii and raw put a space between frames
// and, as for one frame, no newline. msgpack prints a multipart message as
// one array of bin objects, one per frame, so that the output stays a valid
// MessagePack stream. A message of one frame prints as it always does.
//
// What the ZeroMQ types do:
//
//   - router: prints each message with the sender's routing id as its
//     first frame. With data, it answers each message with its envelope
//     (every frame but the last: the routing id, and the empty delimiter of
//     a REQ peer) followed by the data, until --count messages, as rep
//     does; without data it only prints.
//   - dealer, xpub (and pair0, pair1 and bus in either dialect): without
//     data, print what arrives, as pull does. With data they are two-way:
//     they send it on their schedule (once; --count times; every
//     --interval, the interval after the last send included, as in
//     nngcat's rounds) and print what arrives as it arrives. Receiving ends
//     after --count messages, or when --recv-timeout passes with nothing;
//     with --interval and --count but no --recv-timeout, the messages still
//     missing get one more interval after the schedule, so that a peer
//     whose first messages were lost cannot keep the command waiting. The
//     command ends when both sending and receiving have. Without --count or
//     --recv-timeout they receive until interrupted. A dealer sends the
//     data as one frame.
//   - xpub prints the subscription messages its subscribers send: "\x01"
//     then the topic to subscribe, "\x00" then the topic to cancel (by
//     default only the first subscription to a topic and the last cancel,
//     as libzmq does).
//   - xsub: --subscribe T (repeatable; default everything, as for sub)
//     sends "\x01"+T upstream to every publisher, including those that
//     connect later; then it prints what arrives, as sub does. It takes
//     no data.
//
// The exit status is 0 when done and 1 on an error or a usage mistake, with
// nngcat's message on standard error.
//
// # Where mqcat differs from nngcat 1.5.2
//
//   - --pair selects pair1 as nngcat documents; nngcat 1.5.2 itself fails
//     with "No protocol specified.".
//   - Time options also take a decimal fraction (-i 0.5); nngcat takes whole
//     seconds only.
//   - --count without --interval on req, surveyor, pair and bus runs the
//     exchanges back to back; nngcat 1.5.2 fails there with "Cannot set recv
//     timeout: Invalid argument".
//   - zt URLs are not supported ("Not supported").
//   - With --async, a dial to a port nng's dial refuses (above 65535, or
//     not a number) fails at once ("Unable to create dialer for URL:
//     Address invalid"); nngcat 1.5.2 retries it in the background for
//     ever.
//   - --help prints mqcat's own usage text; --version prints
//     "1.5.2 (mqcat, mqwire)".
package main
