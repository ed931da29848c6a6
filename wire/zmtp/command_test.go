package zmtp_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/wire/zmtp"
)

func TestAppendCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want []byte
	}{
		{"PING", []byte{0, 10}, cat(4, 7, 4, "PING", 0, 10)},
		{"WELCOME", nil, cat(4, 8, 7, "WELCOME")},
		{"x", nil, cat(4, 2, 1, "x")},
		{"MESSAGE", bytes.Repeat([]byte{7}, 300), cat(6, 0, 0, 0, 0, 0, 0, 1, 52, 7, "MESSAGE", bytes.Repeat([]byte{7}, 300))},
	} {
		got := zmtp.AppendCommand([]byte("z"), tc.name, tc.data)
		if !bytes.Equal(got[1:], tc.want) {
			t.Errorf("AppendCommand(%q, % x) =\n% x, want\n% x", tc.name, tc.data, got[1:], tc.want)
			continue
		}
		name, data, err := zmtp.ParseCommand(body(t, got[1:]))
		if err != nil || string(name) != tc.name || !bytes.Equal(data, tc.data) {
			t.Errorf("ParseCommand = %q, % x, %v", name, data, err)
		}
	}
	for _, bad := range []string{"", "PING!", "ZMTP3", strings.Repeat("A", 256), "PÏNG"} {
		mustPanic(t, "AppendCommand("+bad+")", func() { zmtp.AppendCommand(nil, bad, nil) })
	}
	// 255 letters is the longest name.
	long := strings.Repeat("Z", 255)
	name, _, err := zmtp.ParseCommand(body(t, zmtp.AppendCommand(nil, long, nil)))
	if err != nil || string(name) != long {
		t.Errorf("255-letter name: %v", err)
	}
}

func TestParseCommandRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		says string
	}{
		{"empty", nil, "empty command"},
		{"zero name", cat(0, "READY"), "command name of length 0"},
		{"name overruns", cat(6, "READY"), "command name of 6 bytes in a command of 6"},
		{"name overruns a lot", cat(255, "X"), "command name of 255 bytes"},
		{"digit", cat(5, "READ1"), "not ASCII letters"},
		{"nul separator (RFC 37 prose)", cat("READY", 0, 11, "Socket-Type"), "command name of 82 bytes"},
		{"space", cat(2, " A"), "not ASCII letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, data, err := zmtp.ParseCommand(tc.in)
			if err == nil {
				t.Fatalf("ParseCommand(% x) = %q, % x", tc.in, name, data)
			}
			wantProtoErr(t, err, tc.says)
		})
	}
}

func TestReady(t *testing.T) {
	props := []zmtp.Property{
		{Name: zmtp.PropSocketType, Value: []byte(zmtp.TypeREQ)},
		{Name: zmtp.PropIdentity, Value: nil},
	}
	// What libzmq 4.3.4's REQ sends (see libzmq_test.go).
	want := cat(4, 0x26, 5, "READY", 11, "Socket-Type", 0, 0, 0, 3, "REQ", 8, "Identity", 0, 0, 0, 0)
	got := zmtp.AppendReady(nil, props...)
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendReady =\n% x, want\n% x", got, want)
	}
	md, err := zmtp.ParseReady(body(t, got))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := md.Get("socket-type"); !ok || string(v) != "REQ" {
		t.Errorf("Get(socket-type) = %q, %v", v, ok)
	}
	if v, ok := md.Get("IDENTITY"); !ok || len(v) != 0 {
		t.Errorf("Get(IDENTITY) = %q, %v", v, ok)
	}
	// Empty metadata, and a READY large enough for a long frame header.
	if md, err := zmtp.ParseReady(body(t, zmtp.AppendReady(nil))); err != nil || len(md) != 0 {
		t.Errorf("empty READY: %v, %v", md, err)
	}
	big := zmtp.AppendReady(nil, zmtp.Property{Name: "X-Big", Value: bytes.Repeat([]byte("v"), 1000)})
	if big[0] != zmtp.FlagCommand|zmtp.FlagLong {
		t.Errorf("flags 0x%02x", big[0])
	}
	if md, err := zmtp.ParseReady(body(t, big)); err != nil || len(md) != 1 || len(md[0].Value) != 1000 {
		t.Errorf("big READY: %v", err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		says string
	}{
		{"other command", cat(5, "ERROR", 3, "400"), "expected command READY, got \"ERROR\""},
		{"lower case", cat(5, "ready"), "expected command READY"},
		{"bad metadata", cat(5, "READY", 11, "Socket-Type", 0, 0, 0, 9, "REQ"), "announces 9 bytes, 3 left"},
		{"trailing byte", cat(5, "READY", 1), "overruns"},
	} {
		_, err := zmtp.ParseReady(tc.in)
		wantProtoErr(t, err, tc.says)
	}
}

func TestError(t *testing.T) {
	got := zmtp.AppendError(nil, "400")
	want := cat(4, 10, 5, "ERROR", 3, "400")
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendError = % x, want % x", got, want)
	}
	for _, reason := range []string{"", "400", strings.Repeat("r", 255)} {
		r, err := zmtp.ParseError(body(t, zmtp.AppendError(nil, reason)))
		if err != nil || string(r) != reason {
			t.Errorf("reason %q: %q, %v", reason, r, err)
		}
	}
	// Longer reasons are cut to 255 bytes.
	r, err := zmtp.ParseError(body(t, zmtp.AppendError(nil, strings.Repeat("r", 300))))
	if err != nil || len(r) != 255 {
		t.Errorf("long reason: %d bytes, %v", len(r), err)
	}
	for _, tc := range []struct {
		in   []byte
		says string
	}{
		{cat(5, "ERROR"), "without a reason length"},
		{cat(5, "ERROR", 4, "400"), "reason of 4 bytes in 3"},
		{cat(5, "ERROR", 2, "400"), "reason of 2 bytes in 3"},
		{cat(5, "READY"), "expected command ERROR"},
	} {
		_, err := zmtp.ParseError(tc.in)
		wantProtoErr(t, err, tc.says)
	}
}

func TestLibzmqPlainError(t *testing.T) {
	got := zmtp.AppendErrorLibzmqPLAIN(nil, "400")
	if want := cat(4, 9, 0x5E, "RROR", 3, "400"); !bytes.Equal(got, want) {
		t.Fatalf("AppendErrorLibzmqPLAIN = % x, want % x", got, want)
	}
	for _, reason := range []string{"", "400", strings.Repeat("r", 255)} {
		b := body(t, zmtp.AppendErrorLibzmqPLAIN(nil, reason))
		if r, err := zmtp.ParseError(b); err != nil || string(r) != reason {
			t.Errorf("reason %q: %q, %v", reason, r, err)
		}
		name, _, err := zmtp.ParseCommand(b)
		if err != nil || string(name) != zmtp.CmdError {
			t.Errorf("ParseCommand: %q, %v", name, err)
		}
		// The name is a copy: changing it changes nothing else.
		name[0] = 'X'
		if name2, _, _ := zmtp.ParseCommand(b); string(name2) != zmtp.CmdError || b[0] != 0x5E {
			t.Error("ParseCommand returned shared bytes")
		}
	}
	if r, err := zmtp.ParseError(body(t, zmtp.AppendErrorLibzmqPLAIN(nil, strings.Repeat("r", 256)))); err != nil || len(r) != 255 {
		t.Errorf("long reason: %d bytes, %v", len(r), err)
	}
	// A well-formed command whose 94-letter name starts with RROR is that
	// command, not an ERROR.
	long := "RROR" + strings.Repeat("A", 90)
	name, data, err := zmtp.ParseCommand(body(t, zmtp.AppendCommand(nil, long, []byte{3})))
	if err != nil || string(name) != long || !bytes.Equal(data, []byte{3}) {
		t.Errorf("94-letter name: %q % x %v", name, data, err)
	}
	for _, tc := range []struct {
		in   []byte
		says string
	}{
		{cat(0x5E, "RROR"), "without a reason length"},
		{cat(0x5E, "RROR", 4, "400"), "reason of 4 bytes in 3"},
		{cat(0x5E, "RROR", 3, "4000"), "reason of 3 bytes in 4"},
		{cat(0x5E, "RROX", 3, "400"), "command name of 94 bytes"},
	} {
		_, err := zmtp.ParseError(tc.in)
		wantProtoErr(t, err, tc.says)
	}
}

func TestSubscribeCancel(t *testing.T) {
	// libzmq 4.3.4's SUB subscribing to "topic" over ZMTP 3.1.
	got := zmtp.AppendSubscribe(nil, []byte("topic"))
	if want := cat(4, 15, 9, "SUBSCRIBE", "topic"); !bytes.Equal(got, want) {
		t.Fatalf("AppendSubscribe = % x, want % x", got, want)
	}
	for _, topic := range [][]byte{nil, []byte("topic"), {0, 1, 0xFF}, bytes.Repeat([]byte("t"), 400)} {
		if got, err := zmtp.ParseSubscribe(body(t, zmtp.AppendSubscribe(nil, topic))); err != nil || !bytes.Equal(got, topic) {
			t.Errorf("SUBSCRIBE % x: % x, %v", topic, got, err)
		}
		if got, err := zmtp.ParseCancel(body(t, zmtp.AppendCancel(nil, topic))); err != nil || !bytes.Equal(got, topic) {
			t.Errorf("CANCEL % x: % x, %v", topic, got, err)
		}
	}
	if got := zmtp.AppendCancel(nil, []byte("a")); !bytes.Equal(got, cat(4, 8, 6, "CANCEL", "a")) {
		t.Errorf("AppendCancel = % x", got)
	}
	_, err := zmtp.ParseSubscribe(cat(6, "CANCEL", "a"))
	wantProtoErr(t, err, "expected command SUBSCRIBE")
	_, err = zmtp.ParseCancel(cat(9, "SUBSCRIBE", "a"))
	wantProtoErr(t, err, "expected command CANCEL")
	_, err = zmtp.ParseCancel(cat(9, "CANCEL"))
	wantProtoErr(t, err, "command name of 9 bytes")
}

func TestPingPong(t *testing.T) {
	// libzmq's PING: TTL only, no context.
	got := zmtp.AppendPing(nil, 0x0102, nil)
	if want := cat(4, 7, 4, "PING", 1, 2); !bytes.Equal(got, want) {
		t.Fatalf("AppendPing = % x, want % x", got, want)
	}
	for _, ctx := range [][]byte{nil, []byte("c"), bytes.Repeat([]byte{9}, 16)} {
		ttl, c, err := zmtp.ParsePing(body(t, zmtp.AppendPing(nil, 300, ctx)))
		if err != nil || ttl != 300 || !bytes.Equal(c, ctx) {
			t.Errorf("PING % x: %d, % x, %v", ctx, ttl, c, err)
		}
		c, err = zmtp.ParsePong(body(t, zmtp.AppendPong(nil, ctx)))
		if err != nil || !bytes.Equal(c, ctx) {
			t.Errorf("PONG % x: % x, %v", ctx, c, err)
		}
	}
	// Contexts are cut to 16 bytes by the encoders.
	_, c, err := zmtp.ParsePing(body(t, zmtp.AppendPing(nil, 1, bytes.Repeat([]byte{1}, 40))))
	if err != nil || len(c) != 16 {
		t.Errorf("long PING context: %d bytes, %v", len(c), err)
	}
	c, err = zmtp.ParsePong(body(t, zmtp.AppendPong(nil, bytes.Repeat([]byte{1}, 17))))
	if err != nil || len(c) != 16 {
		t.Errorf("long PONG context: %d bytes, %v", len(c), err)
	}
	for _, tc := range []struct {
		in   []byte
		says string
	}{
		{cat(4, "PING"), "PING of 0 bytes has no TTL"},
		{cat(4, "PING", 1), "PING of 1 bytes has no TTL"},
		{cat(4, "PING", 0, 0, bytes.Repeat([]byte{1}, 17)), "PING context of 17 bytes"},
		{cat(4, "PONG", 0, 0), "expected command PING"},
	} {
		_, _, err := zmtp.ParsePing(tc.in)
		wantProtoErr(t, err, tc.says)
	}
	_, err = zmtp.ParsePong(cat(4, "PONG", bytes.Repeat([]byte{1}, 17)))
	wantProtoErr(t, err, "PONG context of 17 bytes")
	_, err = zmtp.ParsePong(cat(4, "PING", 0, 0))
	wantProtoErr(t, err, "expected command PONG")

	for _, tc := range []struct {
		d   time.Duration
		ttl uint16
	}{
		{0, 0}, {-time.Second, 0}, {99 * time.Millisecond, 0}, {100 * time.Millisecond, 1},
		{30 * time.Second, 300}, {6553500 * time.Millisecond, 0xFFFF}, {time.Hour * 10, 0xFFFF},
	} {
		if got := zmtp.PingTTL(tc.d); got != tc.ttl {
			t.Errorf("PingTTL(%v) = %d, want %d", tc.d, got, tc.ttl)
		}
	}
	if d := zmtp.PingTTLDuration(300); d != 30*time.Second {
		t.Errorf("PingTTLDuration(300) = %v", d)
	}
}

func TestPlain(t *testing.T) {
	got := zmtp.AppendHello(nil, "admin", "secret")
	want := cat(4, 19, 5, "HELLO", 5, "admin", 6, "secret")
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendHello = % x, want % x", got, want)
	}
	for _, c := range [][2]string{{"", ""}, {"admin", "secret"}, {strings.Repeat("u", 255), strings.Repeat("p", 255)}} {
		u, p, err := zmtp.ParseHello(body(t, zmtp.AppendHello(nil, c[0], c[1])))
		if err != nil || string(u) != c[0] || string(p) != c[1] {
			t.Errorf("HELLO %q: %q %q %v", c, u, p, err)
		}
	}
	mustPanic(t, "a 256-byte user name", func() { zmtp.AppendHello(nil, strings.Repeat("u", 256), "") })
	mustPanic(t, "a 256-byte password", func() { zmtp.AppendHello(nil, "", strings.Repeat("p", 256)) })
	if zmtp.CheckCredential(strings.Repeat("u", 255)) != nil || zmtp.CheckCredential(strings.Repeat("u", 256)) == nil {
		t.Error("CheckCredential limits")
	}
	for _, tc := range []struct {
		in   []byte
		says string
	}{
		{cat(5, "HELLO"), "HELLO user name overruns"},
		{cat(5, "HELLO", 6, "admin"), "HELLO user name overruns"},
		{cat(5, "HELLO", 5, "admin"), "HELLO password overruns"},
		{cat(5, "HELLO", 5, "admin", 7, "secret"), "HELLO password overruns"},
		{cat(5, "HELLO", 5, "admin", 6, "secret", 0), "1 bytes after the HELLO password"},
		{cat(7, "WELCOME"), "expected command HELLO"},
	} {
		_, _, err := zmtp.ParseHello(tc.in)
		wantProtoErr(t, err, tc.says)
	}

	if got := zmtp.AppendWelcome(nil); !bytes.Equal(got, cat(4, 8, 7, "WELCOME")) {
		t.Errorf("AppendWelcome = % x", got)
	}
	if err := zmtp.ParseWelcome(body(t, zmtp.AppendWelcome(nil))); err != nil {
		t.Error(err)
	}
	wantProtoErr(t, zmtp.ParseWelcome(cat(7, "WELCOME", 0)), "WELCOME with 1 bytes of data")
	wantProtoErr(t, zmtp.ParseWelcome(cat(5, "READY")), "expected command WELCOME")

	props := []zmtp.Property{{Name: zmtp.PropSocketType, Value: []byte("DEALER")}, {Name: zmtp.PropIdentity, Value: []byte("id")}}
	got = zmtp.AppendInitiate(nil, props...)
	want = cat(4, 0x2e, 8, "INITIATE", 11, "Socket-Type", 0, 0, 0, 6, "DEALER", 8, "Identity", 0, 0, 0, 2, "id")
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendInitiate =\n% x, want\n% x", got, want)
	}
	md, err := zmtp.ParseInitiate(body(t, got))
	if err != nil || len(md) != 2 || md[0].Name != zmtp.PropSocketType || string(md[1].Value) != "id" {
		t.Errorf("ParseInitiate = %v, %v", md, err)
	}
	_, err = zmtp.ParseInitiate(cat(5, "READY"))
	wantProtoErr(t, err, "expected command INITIATE")
	_, err = zmtp.ParseInitiate(cat(8, "INITIATE", 0))
	wantProtoErr(t, err, "name of length 0")
}
