package mangos

// The options' names, as mangos spells them, with the value types they
// take. Which sockets, dialers and listeners have which is in the package
// documentation and on each constant.
const (
	// OptionRaw (bool, read only): whether the socket is raw.
	OptionRaw = "RAW"
	// OptionRecvDeadline (time.Duration): how long Recv waits; 0 (the
	// default) without limit, a negative value not at all.
	OptionRecvDeadline = "RECV-DEADLINE"
	// OptionSendDeadline (time.Duration): how long Send waits; 0 (the
	// default) without limit, a negative value not at all.
	OptionSendDeadline = "SEND-DEADLINE"
	// OptionRetryTime (time.Duration, req): when a request not replied to
	// is sent again; 0 never. Default one minute.
	OptionRetryTime = "RETRY-TIME"
	// OptionSubscribe ([]byte or string, sub): adds a prefix.
	OptionSubscribe = "SUBSCRIBE"
	// OptionUnsubscribe ([]byte or string, sub): removes a prefix.
	OptionUnsubscribe = "UNSUBSCRIBE"
	// OptionSurveyTime (time.Duration, surveyor): how long a survey takes
	// answers. Default one second.
	OptionSurveyTime = "SURVEY-TIME"
	// OptionTLSConfig (*tls.Config): for tls+tcp and wss, on the socket,
	// a dialer or a listener.
	OptionTLSConfig = "TLS-CONFIG"
	// OptionWriteQLen (int): messages queued to each pipe before Send
	// waits (or a pub drops). Before the first Dial or Listen.
	OptionWriteQLen = "WRITEQ-LEN"
	// OptionReadQLen (int): messages received from each pipe and queued
	// before reading from it stops. Before the first Dial or Listen.
	OptionReadQLen = "READQ-LEN"
	// OptionKeepAlive (bool): TCP keep-alive on tcp connections. Default
	// true.
	OptionKeepAlive = "KEEPALIVE"
	// OptionKeepAliveTime (time.Duration): TCP keep-alive idle time and
	// interval.
	OptionKeepAliveTime = "KEEPALIVETIME"
	// OptionNoDelay (bool): only true, which is what mqwire does.
	OptionNoDelay = "NO-DELAY"
	// OptionLinger (time.Duration): how long Close keeps sending what is
	// queued. Default one second.
	OptionLinger = "LINGER"
	// OptionTTL (int, rep, respondent, pair1 and their raw forms): the
	// most devices a message may cross.
	OptionTTL = "TTL"
	// OptionMaxRecvSize (int): the largest message accepted from a peer;
	// 0 no limit. Default 1 MiB.
	OptionMaxRecvSize = "MAX-RCV-SIZE"
	// OptionReconnectTime (time.Duration): the wait before dialing again.
	// Default 100 ms.
	OptionReconnectTime = "RECONNECT-TIME"
	// OptionMaxReconnectTime (time.Duration): the longest wait, when the
	// wait doubles after each failure; 0 (the default) no doubling.
	OptionMaxReconnectTime = "MAX-RECONNECT-TIME"
	// OptionBestEffort (bool; push, pair, pair1, req, rep, respondent and
	// their raw forms): a send that would wait drops the message instead
	// and succeeds. Default false.
	OptionBestEffort = "BEST-EFFORT"
	// OptionLocalAddr (net.Addr, read only, pipes): the local address.
	OptionLocalAddr = "LOCAL-ADDR"
	// OptionRemoteAddr (net.Addr, read only, pipes): the peer's address.
	OptionRemoteAddr = "REMOTE-ADDR"
	// OptionTLSConnState (tls.ConnectionState, read only, pipes over
	// TLS): the TLS handshake's outcome.
	OptionTLSConnState = "TLS-STATE"
	// OptionHTTPRequest (*http.Request, read only, WebSocket pipes): the
	// opening request.
	OptionHTTPRequest = "HTTP-REQUEST"
	// OptionDialAsynch (bool, socket or dialer): Dial returns at once
	// and connects in the background, rather than making its first
	// attempt before returning. Default false.
	OptionDialAsynch = "DIAL-ASYNCH"
	// OptionPeerPID (int, read only, ipc:// and shm:// pipes on Linux):
	// the peer's process id, as the kernel gave it when it connected.
	OptionPeerPID = "PEER-PID"
	// OptionPeerUID (int, read only, as OptionPeerPID): the peer's
	// effective user id.
	OptionPeerUID = "PEER-UID"
	// OptionPeerGID (int, read only, as OptionPeerPID): the peer's
	// effective group id.
	OptionPeerGID = "PEER-GID"
	// OptionPeerZone: not offered (ErrBadOption).
	OptionPeerZone = "PEER-ZONE"
	// OptionFailNoPeers (bool; push, req and their raw forms): with no
	// peer connected, a send or receive fails at once with ErrNoPeers.
	// Default false.
	OptionFailNoPeers = "FAIL-NO-PEERS"
)
