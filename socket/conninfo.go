package socket

import "crypto/tls"

// ConnInformer is implemented by what can tell more of a connection than
// its addresses, for Pipe.ConnInfo: a transport's framing (Conn.Frame's
// connection; ws's, the opening handshake's path and header fields), or
// a transport's Conn.Info (ipc's PeerCred).
type ConnInformer interface {
	// ConnInfo fills target, a pointer to a type it knows, and reports
	// whether it did.
	ConnInfo(target any) bool
}

// ConnInfo fills target with what the pipe's connection knows of target's
// type, as errors.As fills its target, and reports whether it did: a
// *tls.ConnectionState on a pipe over TLS (tls+tcp, wss, a ws.Handler's
// behind an https server: the peer's certificates, the cipher suite, the
// server name), a *ws.Handshake on a WebSocket pipe (the request's path
// and header fields), a *PeerCred on an ipc:// or shm:// pipe on Linux
// (the peer process's user, group and process ids). A PipeHook can so
// refuse a peer at PipeAdding by what its certificate, its request or its
// credentials say.
func (p *Pipe) ConnInfo(target any) bool {
	if st, ok := target.(*tls.ConnectionState); ok && p.tlsState != nil {
		*st = *p.tlsState
		return true
	}
	// The transport or the framing may know more, such as the TLS state
	// of a connection an https server took (ws.Handler).
	return p.connInfo != nil && p.connInfo.ConnInfo(target)
}

// PeerCred is what the kernel says of the process at the other end of a
// Unix-domain connection (ipc://, and shm://'s set-up socket): its process,
// effective user and group ids when it connected, or, seen from the end
// that dialed, when the listener's process bound its socket. It is what
// nng's NNG_OPT_IPC_PEER_PID, _UID and _GID give; a PipeHook that closes
// the pipe of a peer it does not know does what libzmq's
// ZMQ_IPC_FILTER_UID, _GID and _PID did. Pipe.ConnInfo gives one on Linux
// (SO_PEERCRED); elsewhere it reports false.
type PeerCred struct {
	PID int // the peer's process id
	UID int // its effective user id
	GID int // its effective group id
}

// ConnInfo makes a PeerCred a ConnInformer of itself, for a transport's
// Conn.Info: it fills a *PeerCred target.
func (c PeerCred) ConnInfo(target any) bool {
	t, ok := target.(*PeerCred)
	if ok {
		*t = c
	}
	return ok
}

// joinConnInfo returns a ConnInformer that asks a and then b; either may
// be nil.
func joinConnInfo(a, b ConnInformer) ConnInformer {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return connInfos{a, b}
}

// connInfos asks each in turn.
type connInfos []ConnInformer

func (cs connInfos) ConnInfo(target any) bool {
	for _, c := range cs {
		if c.ConnInfo(target) {
			return true
		}
	}
	return false
}
