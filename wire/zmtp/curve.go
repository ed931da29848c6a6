package zmtp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/mqwire/mqwire/internal/scratch"
	"github.com/mqwire/mqwire/wire"
)

// CURVE (ZeroMQ RFC 26, CurveZMQ, over ZMTP as RFC 25 and libzmq 4.3 have it)
// authenticates the server to the client by its long-term public key, the
// client to the server by its own, and encrypts every frame after the
// handshake with short-term keys that both sides forget at the end of the
// connection. The handshake is HELLO (client), WELCOME (server), INITIATE
// (client, with its metadata), READY (server, with its metadata); after it,
// every frame, commands included, travels inside a MESSAGE command.
//
// This file is bytes and cryptography only: CurveClient and CurveServer
// build and check the four handshake commands, CurveSession seals and opens
// MESSAGE commands. The socket layer reads and writes them.

// Command names of CURVE, besides those it shares with PLAIN.
const (
	CmdMessage = "MESSAGE" // CURVE: one encrypted frame
)

// CurveKeySize is the size of a CURVE public or secret key.
const CurveKeySize = 32

// CurveKey is a CURVE (Curve25519) public or secret key. Its String is the
// key in Z85, the 40-character form libzmq's tools and options use.
type CurveKey [CurveKeySize]byte

// String returns k in Z85.
func (k CurveKey) String() string {
	s, _ := Z85Encode(k[:]) // 32 is a multiple of 4
	return s
}

// raw is k as the crypto packages take it.
func (k *CurveKey) raw() *[32]byte { return (*[32]byte)(k) }

// ParseCurveKey reads a key written in Z85 (40 characters), as libzmq's
// zmq_curve_keypair prints them.
func ParseCurveKey(s string) (CurveKey, error) {
	var k CurveKey
	if len(s) != 40 {
		return k, fmt.Errorf("%w: a CURVE key is 40 Z85 characters, not %d", ErrZ85, len(s))
	}
	b, err := Z85Decode(s)
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// NewCurveKeyPair makes a long-term key pair from the system's randomness.
func NewCurveKeyPair() (public, secret CurveKey, err error) {
	pub, sec, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return public, secret, fmt.Errorf("zmtp: CURVE key pair: %w", err)
	}
	return *pub, *sec, nil
}

// CurvePublicKey returns the public key of a secret key (libzmq's
// zmq_curve_public).
func CurvePublicKey(secret CurveKey) (CurveKey, error) {
	var k CurveKey
	pub, err := curve25519.X25519(secret[:], curve25519.Basepoint)
	if err != nil {
		return k, fmt.Errorf("zmtp: CURVE public key: %w", err)
	}
	copy(k[:], pub)
	return k, nil
}

// ErrCurveBox is what errors.Is finds in the error for a CURVE box that does
// not open: the peer used another key than the one expected, or the bytes
// were changed on the way. Such an error matches wire.ErrProtocol too.
var ErrCurveBox = errors.New("zmtp: CURVE box does not open")

type curveBoxError struct{ what string }

// Error says which box did not open.
func (e *curveBoxError) Error() string {
	return "zmtp: protocol violation: the CURVE " + e.what + " box does not open (wrong key, or changed on the way)"
}

// Is makes the error match ErrCurveBox and wire.ErrProtocol.
func (e *curveBoxError) Is(target error) bool {
	return target == ErrCurveBox || target == wire.ErrProtocol
}

// Nonce prefixes (RFC 26): 16 bytes before an 8-byte counter, or 8 before 16
// random bytes.
const (
	helloPrefix    = "CurveZMQHELLO---"
	initiatePrefix = "CurveZMQINITIATE"
	readyPrefix    = "CurveZMQREADY---"
	messageCPrefix = "CurveZMQMESSAGEC" // client to server
	messageSPrefix = "CurveZMQMESSAGES" // server to client
	welcomePrefix  = "WELCOME-"
	cookiePrefix   = "COOKIE--"
	vouchPrefix    = "VOUCH---"
)

// Sizes of the handshake commands' bodies (name included).
const (
	curveHelloSize    = 200 // \x05HELLO, version, 72 zeros, C', nonce, box(64)
	curveWelcomeSize  = 168 // \x07WELCOME, nonce(16), box(S' + cookie)
	curveInitiateMin  = 257 // \x08INITIATE, cookie, nonce, box(C + vouch)
	curveReadyMin     = 30  // \x05READY, nonce, box(metadata)
	curveMessageMin   = 33  // \x07MESSAGE, nonce, box(flags)
	curveCookieSize   = 96  // nonce(16), secretbox(C' + s')
	curveVouchBoxSize = 80  // box(C' + S)
)

// The flags byte inside MESSAGE's box: libzmq carries its message's MORE
// and COMMAND flags there, in these bits (not the frame header's).
const (
	boxMore    byte = 0x01
	boxCommand byte = 0x02
)

// boxFlags maps a frame header's MORE and COMMAND flags to the box's byte,
// and frameFlags back.
func boxFlags(frame byte) (b byte) {
	if frame&FlagMore != 0 {
		b |= boxMore
	}
	if frame&FlagCommand != 0 {
		b |= boxCommand
	}
	return b
}

func frameFlags(box byte) (f byte) {
	if box&boxMore != 0 {
		f |= FlagMore
	}
	if box&boxCommand != 0 {
		f |= FlagCommand
	}
	return f
}

func shortNonce(prefix string, n uint64) *[24]byte {
	var nonce [24]byte
	copy(nonce[:], prefix)
	binary.BigEndian.PutUint64(nonce[16:], n)
	return &nonce
}

func longNonce(prefix string, random []byte) *[24]byte {
	var nonce [24]byte
	copy(nonce[:], prefix)
	copy(nonce[8:], random)
	return &nonce
}

// curveRand is where handshakes take their keys and nonces from; the tests
// make it repeatable.
var curveRand io.Reader = rand.Reader

func randomNonce(prefix string) (*[24]byte, error) {
	var r [16]byte
	if _, err := io.ReadFull(curveRand, r[:]); err != nil {
		return nil, fmt.Errorf("zmtp: CURVE nonce: %w", err)
	}
	return longNonce(prefix, r[:]), nil
}

// CurveClient is the client side of one CURVE handshake. Make one per
// connection with NewCurveClient; it is not safe for concurrent use.
type CurveClient struct {
	server           CurveKey // S, the server's long-term public key
	public, secret   CurveKey // C, c
	cnPublic         CurveKey // C', our short-term key pair
	cnSecret         CurveKey
	cnServer         CurveKey // S', the server's short-term key
	cookie           [curveCookieSize]byte
	shared           [32]byte // precomputed from S' and c'
	nonce, peerNonce uint64
	welcomed, ready  bool
}

// NewCurveClient starts a handshake as the client with long-term keys
// public and secret, to the server whose long-term public key is server.
func NewCurveClient(server, public, secret CurveKey) (*CurveClient, error) {
	pub, sec, err := box.GenerateKey(curveRand)
	if err != nil {
		return nil, fmt.Errorf("zmtp: CURVE short-term keys: %w", err)
	}
	return &CurveClient{server: server, public: public, secret: secret, cnPublic: *pub, cnSecret: *sec, nonce: 1}, nil
}

// AppendHello appends the HELLO command frame: our short-term public key and
// a box of zeros only the server's secret key opens.
func (c *CurveClient) AppendHello(b []byte) []byte {
	b = appendCommandHeader(b, CmdHello, curveHelloSize-1-len(CmdHello))
	b = append(b, 1, 0)                // CurveZMQ 1.0
	b = append(b, make([]byte, 72)...) // anti-amplification padding
	b = append(b, c.cnPublic[:]...)    // C'
	b = binary.BigEndian.AppendUint64(b, c.nonce)
	var zeros [64]byte
	b = box.Seal(b, zeros[:], shortNonce(helloPrefix, c.nonce), c.server.raw(), c.cnSecret.raw())
	c.nonce++
	return b
}

// ParseWelcome opens the server's WELCOME (a command body): its short-term
// key and the cookie to send back.
func (c *CurveClient) ParseWelcome(body []byte) error {
	if _, err := expectCommand(body, CmdWelcome); err != nil {
		return err
	}
	if len(body) != curveWelcomeSize {
		return protoErr("CURVE WELCOME of %d bytes, %d expected", len(body), curveWelcomeSize)
	}
	nonce := longNonce(welcomePrefix, body[8:24])
	plain, ok := box.Open(nil, body[24:], nonce, c.server.raw(), c.cnSecret.raw())
	if !ok {
		return &curveBoxError{"WELCOME"}
	}
	copy(c.cnServer[:], plain[:32])
	copy(c.cookie[:], plain[32:])
	box.Precompute(&c.shared, c.cnServer.raw(), c.cnSecret.raw())
	c.welcomed = true
	return nil
}

// AppendInitiate appends the INITIATE command frame: the cookie, our
// long-term public key vouched for by our secret key, and props as our
// metadata. It must follow a successful ParseWelcome.
func (c *CurveClient) AppendInitiate(b []byte, props ...Property) ([]byte, error) {
	if !c.welcomed {
		return b, errors.New("zmtp: CURVE INITIATE before WELCOME")
	}
	vnonce, err := randomNonce(vouchPrefix)
	if err != nil {
		return b, err
	}
	var vouchPlain [64]byte
	copy(vouchPlain[:32], c.cnPublic[:])
	copy(vouchPlain[32:], c.server[:])
	vouch := box.Seal(nil, vouchPlain[:], vnonce, c.cnServer.raw(), c.secret.raw())

	plain := make([]byte, 0, 128+MetadataLen(props))
	plain = append(plain, c.public[:]...)
	plain = append(plain, vnonce[8:]...)
	plain = append(plain, vouch...)
	plain = AppendMetadata(plain, props...)

	size := len(CmdInitiate) + curveCookieSize + 8 + box.Overhead + len(plain)
	b = appendCommandHeader(b, CmdInitiate, size-len(CmdInitiate))
	b = append(b, c.cookie[:]...)
	b = binary.BigEndian.AppendUint64(b, c.nonce)
	b = box.SealAfterPrecomputation(b, plain, shortNonce(initiatePrefix, c.nonce), &c.shared)
	c.nonce++
	return b, nil
}

// ParseReady opens the server's READY (a command body) and returns its
// metadata.
func (c *CurveClient) ParseReady(body []byte) (Metadata, error) {
	if !c.welcomed {
		return nil, protoErr("CURVE READY before WELCOME")
	}
	if _, err := expectCommand(body, CmdReady); err != nil {
		return nil, err
	}
	if len(body) < curveReadyMin {
		return nil, protoErr("CURVE READY of %d bytes, at least %d expected", len(body), curveReadyMin)
	}
	n := binary.BigEndian.Uint64(body[6:14])
	plain, ok := box.OpenAfterPrecomputation(nil, body[14:], shortNonce(readyPrefix, n), &c.shared)
	if !ok {
		return nil, &curveBoxError{"READY"}
	}
	md, err := ParseProperties(plain)
	if err != nil {
		return nil, err
	}
	c.peerNonce, c.ready = n, true
	return md, nil
}

// Session returns the MESSAGE codec of the connection, once READY is
// through.
func (c *CurveClient) Session() (*CurveSession, error) {
	if !c.ready {
		return nil, errors.New("zmtp: CURVE session before READY")
	}
	return &CurveSession{shared: c.shared, send: messageCPrefix, recv: messageSPrefix, nonce: c.nonce, peerNonce: c.peerNonce}, nil
}

// CurveServer is the server side of one CURVE handshake. Make one per
// connection with NewCurveServer; it is not safe for concurrent use.
type CurveServer struct {
	public, secret   CurveKey // S, s
	cnPublic         CurveKey // S', our short-term key pair
	cnSecret         CurveKey
	cnClient         CurveKey // C', the client's short-term key
	cookieKey        [32]byte // K, forgotten once INITIATE is in
	cookie           [curveCookieSize]byte
	shared           [32]byte // precomputed from C' and s'
	nonce, peerNonce uint64
	stage            int // 0: HELLO due, 1: INITIATE due, 2: done
}

// NewCurveServer starts a handshake as the server whose long-term secret key
// is secret.
func NewCurveServer(secret CurveKey) (*CurveServer, error) {
	public, err := CurvePublicKey(secret)
	if err != nil {
		return nil, err
	}
	return &CurveServer{public: public, secret: secret, nonce: 1}, nil
}

// ParseHello checks the client's HELLO (a command body): the version, the
// size, and a box of zeros that only our secret key opens.
func (s *CurveServer) ParseHello(body []byte) error {
	if s.stage != 0 {
		return protoErr("CURVE HELLO out of turn")
	}
	if _, err := expectCommand(body, CmdHello); err != nil {
		return err
	}
	if len(body) != curveHelloSize {
		return protoErr("CURVE HELLO of %d bytes, %d expected", len(body), curveHelloSize)
	}
	if body[6] != 1 || body[7] != 0 {
		return protoErr("CURVE HELLO of version %d.%d, 1.0 expected", body[6], body[7])
	}
	copy(s.cnClient[:], body[80:112])
	n := binary.BigEndian.Uint64(body[112:120])
	plain, ok := box.Open(nil, body[120:], shortNonce(helloPrefix, n), s.cnClient.raw(), s.secret.raw())
	if !ok {
		return &curveBoxError{"HELLO"}
	}
	var zeros [64]byte
	if subtle.ConstantTimeCompare(plain, zeros[:]) != 1 {
		return protoErr("CURVE HELLO box holds something other than zeros")
	}
	s.peerNonce = n
	s.stage = 1
	return nil
}

// AppendWelcome appends the WELCOME command frame: our short-term public key
// and a cookie that holds the connection's short-term keys sealed with a key
// only we know, both in a box only the client's short-term key opens.
func (s *CurveServer) AppendWelcome(b []byte) ([]byte, error) {
	if s.stage != 1 {
		return b, errors.New("zmtp: CURVE WELCOME before HELLO")
	}
	pub, sec, err := box.GenerateKey(curveRand)
	if err != nil {
		return b, fmt.Errorf("zmtp: CURVE short-term keys: %w", err)
	}
	s.cnPublic, s.cnSecret = *pub, *sec
	if _, err := io.ReadFull(curveRand, s.cookieKey[:]); err != nil {
		return b, fmt.Errorf("zmtp: CURVE cookie key: %w", err)
	}
	cnonce, err := randomNonce(cookiePrefix)
	if err != nil {
		return b, err
	}
	var cookiePlain [64]byte
	copy(cookiePlain[:32], s.cnClient[:])
	copy(cookiePlain[32:], s.cnSecret[:])
	cookie := append(append(make([]byte, 0, curveCookieSize), cnonce[8:]...), secretbox.Seal(nil, cookiePlain[:], cnonce, &s.cookieKey)...)
	copy(s.cookie[:], cookie)

	wnonce, err := randomNonce(welcomePrefix)
	if err != nil {
		return b, err
	}
	plain := append(append(make([]byte, 0, 128), s.cnPublic[:]...), cookie...)
	b = appendCommandHeader(b, CmdWelcome, curveWelcomeSize-1-len(CmdWelcome))
	b = append(b, wnonce[8:]...)
	return box.Seal(b, plain, wnonce, s.cnClient.raw(), s.secret.raw()), nil
}

// ParseInitiate opens the client's INITIATE (a command body): it checks the
// cookie we sent, then the client's vouch, that its long-term key client
// really made this connection to us; and it returns client and the client's
// metadata. Whether client may connect is the caller's to decide (ZAP).
func (s *CurveServer) ParseInitiate(body []byte) (client CurveKey, md Metadata, err error) {
	if s.stage != 1 {
		return client, nil, protoErr("CURVE INITIATE out of turn")
	}
	if _, err := expectCommand(body, CmdInitiate); err != nil {
		return client, nil, err
	}
	if len(body) < curveInitiateMin {
		return client, nil, protoErr("CURVE INITIATE of %d bytes, at least %d expected", len(body), curveInitiateMin)
	}
	cookie := body[9 : 9+curveCookieSize]
	cookiePlain, ok := secretbox.Open(nil, cookie[16:], longNonce(cookiePrefix, cookie[:16]), &s.cookieKey)
	if !ok || !bytes.Equal(cookie, s.cookie[:]) {
		return client, nil, &curveBoxError{"INITIATE cookie"}
	}
	if subtle.ConstantTimeCompare(cookiePlain[:32], s.cnClient[:]) != 1 || subtle.ConstantTimeCompare(cookiePlain[32:], s.cnSecret[:]) != 1 {
		return client, nil, &curveBoxError{"INITIATE cookie"}
	}
	clear(s.cookieKey[:])
	box.Precompute(&s.shared, s.cnClient.raw(), s.cnSecret.raw())
	n := binary.BigEndian.Uint64(body[105:113])
	if n <= s.peerNonce {
		return client, nil, protoErr("CURVE INITIATE nonce %d after %d", n, s.peerNonce)
	}
	plain, ok := box.OpenAfterPrecomputation(nil, body[113:], shortNonce(initiatePrefix, n), &s.shared)
	if !ok {
		return client, nil, &curveBoxError{"INITIATE"}
	}
	copy(client[:], plain[:32])
	vouchPlain, ok := box.Open(nil, plain[48:48+curveVouchBoxSize], longNonce(vouchPrefix, plain[32:48]), client.raw(), s.cnSecret.raw())
	if !ok {
		return client, nil, &curveBoxError{"INITIATE vouch"}
	}
	if subtle.ConstantTimeCompare(vouchPlain[:32], s.cnClient[:]) != 1 || subtle.ConstantTimeCompare(vouchPlain[32:], s.public[:]) != 1 {
		return client, nil, &curveBoxError{"INITIATE vouch"}
	}
	md, err = ParseProperties(plain[48+curveVouchBoxSize:])
	if err != nil {
		return client, nil, err
	}
	s.peerNonce = n
	s.stage = 2
	return client, md, nil
}

// AppendReady appends the READY command frame with props as our metadata,
// once INITIATE has been accepted.
func (s *CurveServer) AppendReady(b []byte, props ...Property) ([]byte, error) {
	if s.stage != 2 {
		return b, errors.New("zmtp: CURVE READY before INITIATE")
	}
	plain := AppendMetadata(make([]byte, 0, MetadataLen(props)), props...)
	b = appendCommandHeader(b, CmdReady, curveReadyMin-1-len(CmdReady)+len(plain))
	b = binary.BigEndian.AppendUint64(b, s.nonce)
	b = box.SealAfterPrecomputation(b, plain, shortNonce(readyPrefix, s.nonce), &s.shared)
	s.nonce++
	return b, nil
}

// Session returns the MESSAGE codec of the connection, once READY is sent.
func (s *CurveServer) Session() (*CurveSession, error) {
	if s.stage != 2 || s.nonce == 1 {
		return nil, errors.New("zmtp: CURVE session before READY")
	}
	return &CurveSession{shared: s.shared, send: messageSPrefix, recv: messageCPrefix, nonce: s.nonce, peerNonce: s.peerNonce}, nil
}

// CurveSession seals and opens the MESSAGE commands of one connection after
// its handshake. Sealing and opening are independent (a writer and a reader
// may use them at once), but each must be used by one goroutine at a time.
type CurveSession struct {
	shared     [32]byte
	send, recv string
	nonce      uint64      // the next to send
	peerNonce  uint64      // the last received
	sealBuf    scratch.Buf // the sealer's plaintext
	openBuf    scratch.Buf // the opener's plaintext
}

// MessageOverhead is how many bytes a MESSAGE command adds to a frame's
// data, besides the command frame's own header.
const MessageOverhead = curveMessageMin

// AppendMessage appends a MESSAGE command carrying one ZMTP frame: its
// data, and its frame header's flags (FlagMore, FlagCommand). Like libzmq,
// it frames the command as a data frame (no ZMTP flag set): the flags that
// count travel in the box.
func (s *CurveSession) AppendMessage(b []byte, flags byte, data []byte) []byte {
	b = AppendFrameHeader(b, 0, uint64(curveMessageMin+len(data)))
	b = append(b, byte(len(CmdMessage)))
	b = append(b, CmdMessage...)
	b = binary.BigEndian.AppendUint64(b, s.nonce)
	nonce := shortNonce(s.send, s.nonce)
	s.nonce++
	plain := append(append(s.sealBuf.Get(1+len(data)), boxFlags(flags)), data...)
	return box.SealAfterPrecomputation(b, plain, nonce, &s.shared)
}

// OpenMessage opens a MESSAGE command (its body, name included): it checks
// that its nonce follows the last one received and opens the box. It
// returns the carried frame's header flags (FlagMore, FlagCommand) and its
// data; data is valid until the next call.
func (s *CurveSession) OpenMessage(body []byte) (flags byte, data []byte, err error) {
	out, err := s.open(s.openBuf.Get(len(body)), body)
	if err != nil {
		return 0, nil, err
	}
	return frameFlags(out[0]), out[1:], nil
}

// AppendOpenedFrame opens a MESSAGE command as OpenMessage does and
// appends to b the frame it carries, header and data, deciphering the data
// in place: the box's flags byte lands where the header's last byte goes,
// and the header is written over it once it is read. On an error b is
// returned as it came.
func (s *CurveSession) AppendOpenedFrame(b, body []byte) ([]byte, error) {
	if len(body) < curveMessageMin {
		_, err := s.open(nil, body) // the error open has for it
		return b, err
	}
	size := uint64(len(body) - curveMessageMin)
	hn := ShortHeaderSize
	if size > MaxShortSize {
		hn = LongHeaderSize
	}
	start := len(b)
	out, err := s.open(slices.Grow(b, hn+int(size))[:start+hn-1], body)
	if err != nil {
		return b, err
	}
	flags := frameFlags(out[start+hn-1])
	AppendFrameHeader(out[:start], flags, size)
	return out, nil
}

// open checks a MESSAGE's name, length and nonce, and appends the box's
// plaintext (flags byte, then data) to out.
func (s *CurveSession) open(out, body []byte) ([]byte, error) {
	if _, err := expectCommand(body, CmdMessage); err != nil {
		return nil, err
	}
	if len(body) < curveMessageMin {
		return nil, protoErr("CURVE MESSAGE of %d bytes, at least %d expected", len(body), curveMessageMin)
	}
	n := binary.BigEndian.Uint64(body[8:16])
	if n <= s.peerNonce {
		return nil, protoErr("CURVE MESSAGE nonce %d after %d (replayed or reordered)", n, s.peerNonce)
	}
	out, ok := box.OpenAfterPrecomputation(out, body[16:], shortNonce(s.recv, n), &s.shared)
	if !ok {
		return nil, &curveBoxError{"MESSAGE"}
	}
	s.peerNonce = n
	return out, nil
}
