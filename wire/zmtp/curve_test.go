package zmtp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mqwire/mqwire/wire"
)

func TestZ85(t *testing.T) {
	// RFC 32's example.
	raw := []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}
	s, err := Z85Encode(raw)
	if err != nil || s != "HelloWorld" {
		t.Fatalf("Z85Encode = %q, %v; want HelloWorld", s, err)
	}
	b, err := Z85Decode("HelloWorld")
	if err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("Z85Decode = %x, %v", b, err)
	}
	for _, bad := range []string{"Hell", "Hell~World", "Hello World", "%%%%%"} {
		if _, err := Z85Decode(bad); !errors.Is(err, ErrZ85) {
			t.Errorf("Z85Decode(%q) = %v, want ErrZ85", bad, err)
		}
	}
	if _, err := Z85Encode([]byte{1, 2, 3}); !errors.Is(err, ErrZ85) {
		t.Errorf("Z85Encode of 3 bytes: %v, want ErrZ85", err)
	}
}

func TestCurveKeys(t *testing.T) {
	// A key pair from libzmq's tests; libzmq's zmq_curve_public gives this
	// public key for this secret key.
	secret, err := ParseCurveKey("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs")
	if err != nil {
		t.Fatal(err)
	}
	public, err := CurvePublicKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := public.String(), "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"; got != want {
		t.Errorf("public key %s, want %s", got, want)
	}
	pub, sec, err := NewCurveKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := CurvePublicKey(sec); p != pub {
		t.Error("NewCurveKeyPair's public key is not its secret key's")
	}
	if _, err := ParseCurveKey("short"); !errors.Is(err, ErrZ85) {
		t.Errorf("ParseCurveKey(short) = %v", err)
	}
}

// curvePair runs a whole handshake between a client and a server in memory
// and returns their sessions.
func curvePair(t *testing.T) (client, server *CurveSession) {
	t.Helper()
	sPub, sSec, _ := NewCurveKeyPair()
	cPub, cSec, _ := NewCurveKeyPair()
	c, err := NewCurveClient(sPub, cPub, cSec)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCurveServer(sSec)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ParseHello(body(c.AppendHello(nil))); err != nil {
		t.Fatalf("ParseHello: %v", err)
	}
	w, err := s.AppendWelcome(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ParseWelcome(body(w)); err != nil {
		t.Fatalf("ParseWelcome: %v", err)
	}
	in, err := c.AppendInitiate(nil, Property{Name: PropSocketType, Value: []byte("DEALER")})
	if err != nil {
		t.Fatal(err)
	}
	key, md, err := s.ParseInitiate(body(in))
	if err != nil {
		t.Fatalf("ParseInitiate: %v", err)
	}
	if key != cPub {
		t.Errorf("server sees client key %s, want %s", key, cPub)
	}
	if v, _ := md.Get(PropSocketType); string(v) != "DEALER" {
		t.Errorf("client metadata %q", v)
	}
	r, err := s.AppendReady(nil, Property{Name: PropSocketType, Value: []byte("ROUTER")})
	if err != nil {
		t.Fatal(err)
	}
	md, err = c.ParseReady(body(r))
	if err != nil {
		t.Fatalf("ParseReady: %v", err)
	}
	if v, _ := md.Get(PropSocketType); string(v) != "ROUTER" {
		t.Errorf("server metadata %q", v)
	}
	cs, err := c.Session()
	if err != nil {
		t.Fatal(err)
	}
	ss, err := s.Session()
	if err != nil {
		t.Fatal(err)
	}
	return cs, ss
}

// body strips a command frame's header.
func body(frame []byte) []byte { return frame[FrameHeaderLen(frame[0]):] }

func TestCurveHandshakeAndMessages(t *testing.T) {
	cs, ss := curvePair(t)
	for i, data := range [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{7}, 300)} {
		m := cs.AppendMessage(nil, FlagMore, data)
		if len(m) != HeaderLen(uint64(len(body(m))))+MessageOverhead+len(data) {
			t.Errorf("message %d: %d bytes on the wire", i, len(m))
		}
		flags, got, err := ss.OpenMessage(body(m))
		if err != nil || flags != FlagMore || !bytes.Equal(got, data) {
			t.Fatalf("message %d: flags %x, %q, %v", i, flags, got, err)
		}
		m = ss.AppendMessage(nil, FlagCommand, data)
		flags, got, err = cs.OpenMessage(body(m))
		if err != nil || flags != FlagCommand || !bytes.Equal(got, data) {
			t.Fatalf("reply %d: flags %x, %q, %v", i, flags, got, err)
		}
	}

	// Replayed: refused by its nonce.
	m := cs.AppendMessage(nil, 0, []byte("once"))
	if _, _, err := ss.OpenMessage(body(m)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.OpenMessage(body(m)); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("replayed MESSAGE: %v, want ErrProtocol", err)
	}
	// Changed on the way: the box does not open.
	m = cs.AppendMessage(nil, 0, []byte("twice"))
	m[len(m)-1] ^= 1
	if _, _, err := ss.OpenMessage(body(m)); !errors.Is(err, ErrCurveBox) || !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("changed MESSAGE: %v, want ErrCurveBox and ErrProtocol", err)
	}
	// Too short, and not a MESSAGE.
	if _, _, err := ss.OpenMessage([]byte("\x07MESSAGE")); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("short MESSAGE: %v", err)
	}
	if _, _, err := ss.OpenMessage(body(AppendReady(nil))); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("READY as MESSAGE: %v", err)
	}
}

func TestCurveWrongServerKey(t *testing.T) {
	_, sSec, _ := NewCurveKeyPair()
	other, _, _ := NewCurveKeyPair()
	cPub, cSec, _ := NewCurveKeyPair()
	c, _ := NewCurveClient(other, cPub, cSec) // not the server's key
	s, _ := NewCurveServer(sSec)
	if err := s.ParseHello(body(c.AppendHello(nil))); !errors.Is(err, ErrCurveBox) {
		t.Fatalf("HELLO to the wrong server: %v, want ErrCurveBox", err)
	}
}

func TestCurveForgedVouch(t *testing.T) {
	// A client that claims a long-term public key whose secret it does not
	// have: its vouch does not open with that key.
	sPub, sSec, _ := NewCurveKeyPair()
	cPub, cSec, _ := NewCurveKeyPair()
	claimed, _, _ := NewCurveKeyPair()
	c, _ := NewCurveClient(sPub, claimed, cSec)
	s, _ := NewCurveServer(sSec)
	if err := s.ParseHello(body(c.AppendHello(nil))); err != nil {
		t.Fatal(err)
	}
	w, _ := s.AppendWelcome(nil)
	if err := c.ParseWelcome(body(w)); err != nil {
		t.Fatal(err)
	}
	in, _ := c.AppendInitiate(nil)
	if _, _, err := s.ParseInitiate(body(in)); !errors.Is(err, ErrCurveBox) {
		t.Fatalf("forged vouch: %v, want ErrCurveBox", err)
	}
	_ = cPub
}

func TestCurveOutOfTurn(t *testing.T) {
	_, sSec, _ := NewCurveKeyPair()
	s, _ := NewCurveServer(sSec)
	if _, _, err := s.ParseInitiate(make([]byte, 300)); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("INITIATE before HELLO: %v", err)
	}
	if _, err := s.AppendWelcome(nil); err == nil {
		t.Error("WELCOME before HELLO went out")
	}
	if _, err := s.Session(); err == nil {
		t.Error("session before the handshake")
	}
	sPub, _, _ := NewCurveKeyPair()
	cPub, cSec, _ := NewCurveKeyPair()
	c, _ := NewCurveClient(sPub, cPub, cSec)
	if _, err := c.ParseReady(make([]byte, 40)); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("READY before WELCOME: %v", err)
	}
	if _, err := c.AppendInitiate(nil); err == nil {
		t.Error("INITIATE before WELCOME went out")
	}
}

// AppendOpenedFrame appends the frame a MESSAGE carries, header and data,
// for short and long frames and every flag, after what the buffer holds;
// a replayed MESSAGE leaves the buffer as it was.
func TestAppendOpenedFrame(t *testing.T) {
	client, server := curvePair(t)
	for _, n := range []int{0, 1, 254, 255, 256, 1000, 70_000} {
		for _, flags := range []byte{0, FlagMore, FlagCommand} {
			data := bytes.Repeat([]byte{byte(n)}, n)
			msg := client.AppendMessage(nil, flags, data)
			got, err := server.AppendOpenedFrame([]byte("prefix"), body(msg))
			if err != nil {
				t.Fatalf("%d bytes, flags %#x: %v", n, flags, err)
			}
			if want := AppendFrame([]byte("prefix"), flags, data); !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, flags %#x: frame differs", n, flags)
			}
			again, err := server.AppendOpenedFrame([]byte("prefix"), body(msg))
			if err == nil || string(again) != "prefix" {
				t.Fatalf("replayed MESSAGE: %v, buffer %q", err, again)
			}
		}
	}
}
