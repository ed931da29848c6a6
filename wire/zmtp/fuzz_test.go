package zmtp_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// The seeds of each fuzz target: encoder output and what libzmq 4.3.4 sent.
// They are added with f.Add and also committed under testdata/fuzz/FuzzX/
// (TestSeedCorpus keeps the two in step).

func greetingSeeds() [][]byte {
	var s [][]byte
	for _, g := range []zmtp.Greeting{
		{Major: 3, Minor: 0, Mechanism: zmtp.MechanismNull},
		{Major: 3, Minor: 1, Mechanism: zmtp.MechanismPlain, AsServer: true},
		{Major: 3, Minor: 1, Mechanism: zmtp.MechanismCurve, Padding: 1 << 40},
		{Major: 4, Minor: 7, Mechanism: zmtp.MechanismNull, Padding: 255},
	} {
		s = append(s, zmtp.AppendGreeting(nil, g))
	}
	s = append(s, libzmqGreeting, libzmqGreetingABC, libzmqGreetingPlain,
		libzmqGreeting[:10], libzmqGreeting[:11],
		cat(libzmqGreeting[:10], 1, 5), // ZMTP 2.0: revision 1, socket type
		[]byte{0, 'S', 'P', 0, 0, 0x30, 0, 0},
		[]byte("GET / HTTP/1.1\r\n"),
		cat(libzmqGreeting[:12], "GSSAPI", make([]byte, 14), 0, make([]byte, 31)),
		cat(libzmqGreeting[:12], "NULL", 0, 'x', make([]byte, 14), 0, make([]byte, 31)),
	)
	return s
}

type frameSeed struct {
	h     []byte
	limit uint64
}

func frameHeaderSeeds() []frameSeed {
	var s []frameSeed
	for _, flags := range []byte{0, zmtp.FlagMore, zmtp.FlagCommand} {
		for _, size := range []uint64{0, 1, 255, 256, 1 << 20, 1<<20 + 1, 1<<63 - 1} {
			s = append(s, frameSeed{zmtp.AppendFrameHeader(nil, flags, size), 1 << 20})
			s = append(s, frameSeed{zmtp.AppendFrameHeader(nil, flags, size), 0})
		}
	}
	s = append(s,
		frameSeed{[]byte{2, 0, 0, 0, 0, 0, 0, 0, 5}, 0}, // LONG for a small frame
		frameSeed{[]byte{2, 0x80, 0, 0, 0, 0, 0, 0, 0}, 0},
		frameSeed{[]byte{5, 1}, 0},
		frameSeed{[]byte{0x08, 1}, 0},
		frameSeed{[]byte{2, 0, 0}, 0},
		frameSeed{libzmqReadyREQ, 1 << 20},
		frameSeed{libzmqRequest, 1 << 20},
		frameSeed{libzmqSubscribe30, 1 << 20},
	)
	return s
}

func commandSeeds(t testing.TB) [][]byte {
	frames := [][]byte{
		zmtp.AppendReady(nil, prop(zmtp.PropSocketType, "PUB")),
		zmtp.AppendReady(nil),
		zmtp.AppendError(nil, "400"),
		zmtp.AppendError(nil, ""),
		zmtp.AppendErrorLibzmqPLAIN(nil, "400"),
		zmtp.AppendSubscribe(nil, []byte("topic")),
		zmtp.AppendSubscribe(nil, nil),
		zmtp.AppendCancel(nil, []byte("topic")),
		zmtp.AppendPing(nil, 300, nil),
		zmtp.AppendPing(nil, 0xFFFF, bytes.Repeat([]byte{7}, 16)),
		zmtp.AppendPong(nil, []byte("ctx")),
		zmtp.AppendHello(nil, "admin", "secret"),
		zmtp.AppendHello(nil, "", ""),
		zmtp.AppendWelcome(nil),
		zmtp.AppendInitiate(nil, prop(zmtp.PropSocketType, "DEALER"), prop(zmtp.PropIdentity, "id")),
		zmtp.AppendCommand(nil, "MESSAGE", []byte{0, 1, 2}),
		libzmqReadyREQ, libzmqReadyDEALER, libzmqReadyDEALERABC, libzmqReadySUB, libzmqReadyREP,
		libzmqSubscribe31, libzmqHello, libzmqInitiate, libzmqWelcome, libzmqError400,
	}
	var s [][]byte
	for _, f := range frames {
		s = append(s, body(t, f))
	}
	return append(s, nil, cat(0), cat(5, "READ"), cat(4, "PING", 0), cat("READY", 0))
}

func metadataSeeds() [][]byte {
	return [][]byte{
		nil,
		zmtp.AppendMetadata(nil, prop(zmtp.PropSocketType, "REQ"), prop(zmtp.PropIdentity, "")),
		zmtp.AppendMetadata(nil, prop("X-Big", strings.Repeat("v", 300)), prop("a", "\x00")),
		zmtp.AppendProperty(nil, strings.Repeat("n", 255), nil),
		libzmqReadyDEALERABC[8:],
		libzmqInitiate[11:],
		cat(1, "A", 0xFF, 0xFF, 0xFF, 0xFF, "v"),
		cat(0, 0, 0, 0, 0),
		cat(1),
	}
}

// checkTyped fails t unless err is a *wire.ProtocolError of the zmtp
// dialect (and not a TooLargeError).
func checkTyped(t *testing.T, what string, in []byte, err error) {
	t.Helper()
	var pe *wire.ProtocolError
	if !errors.As(err, &pe) || !errors.Is(err, wire.ErrProtocol) || pe.Dialect != "zmtp" || errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("%s(% x): error %v (%T) is not a zmtp *wire.ProtocolError", what, in, err, err)
	}
}

// FuzzGreeting checks that ParseGreeting never panics, refuses only with
// typed errors, agrees with CheckSignature and CheckRevision, accepts only
// known mechanisms, and that an accepted greeting re-encodes to the same
// bytes (up to the as-server byte and filler, which are not validated).
func FuzzGreeting(f *testing.F) {
	for _, s := range greetingSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := zmtp.ParseGreeting(b)
		sigErr := zmtp.CheckSignature(b)
		if sigErr != nil {
			checkTyped(t, "CheckSignature", b, sigErr)
		}
		if err != nil {
			checkTyped(t, "ParseGreeting", b, err)
			return
		}
		if len(b) < zmtp.GreetingSize || sigErr != nil || zmtp.CheckRevision(b[zmtp.RevisionOffset]) != nil {
			t.Fatalf("ParseGreeting accepted % x", b)
		}
		switch g.Mechanism {
		case zmtp.MechanismNull, zmtp.MechanismPlain, zmtp.MechanismCurve:
		default:
			t.Fatalf("mechanism %q", g.Mechanism)
		}
		again := zmtp.AppendGreeting(nil, g)
		canonical := b[32] <= 1 && bytes.Count(b[33:64], []byte{0}) == 31
		if canonical && !bytes.Equal(again, b[:64]) || !bytes.Equal(again[:32], b[:32]) {
			t.Fatalf("AppendGreeting(%+v) =\n% x\nparsed from\n% x", g, again, b[:64])
		}
	})
}

// FuzzFrameHeader checks ParseFrameHeader against an independent reading
// of the header: short input is ErrShort with n = 0, reserved bits, a
// command with MORE and sizes of 2^63 or more are protocol errors, sizes
// above the limit are *wire.TooLargeError, and a good header re-encodes to
// the same bytes when it was canonical (LONG exactly above 255 bytes).
func FuzzFrameHeader(f *testing.F) {
	for _, s := range frameHeaderSeeds() {
		f.Add(s.h, s.limit)
	}
	f.Fuzz(func(t *testing.T, h []byte, limit uint64) {
		hdr, n, err := zmtp.ParseFrameHeader(h, limit)
		if err != nil && n != 0 {
			t.Fatalf("n = %d with error %v", n, err)
		}
		if len(h) == 0 {
			if err != zmtp.ErrShort {
				t.Fatalf("empty input: %v", err)
			}
			return
		}
		flags := h[0]
		if flags&^7 != 0 || flags&5 == 5 {
			checkTyped(t, "ParseFrameHeader", h, err)
			return
		}
		need := 2
		if flags&zmtp.FlagLong != 0 {
			need = 9
		}
		if zmtp.FrameHeaderLen(flags) != need {
			t.Fatalf("FrameHeaderLen(0x%02x) = %d", flags, zmtp.FrameHeaderLen(flags))
		}
		if len(h) < need {
			if err != zmtp.ErrShort {
				t.Fatalf("short header % x: %v", h, err)
			}
			return
		}
		size := uint64(h[1])
		if need == 9 {
			size = binary.BigEndian.Uint64(h[1:9])
		}
		if size >= 1<<63 {
			checkTyped(t, "ParseFrameHeader", h, err)
			return
		}
		if limit != 0 && size > limit {
			var tl *wire.TooLargeError
			if !errors.As(err, &tl) || tl.Size != size || tl.Limit != limit {
				t.Fatalf("size %d above limit %d: %v (%T)", size, limit, err, err)
			}
			return
		}
		if err != nil || n != need || hdr.Flags != flags || hdr.Size != size {
			t.Fatalf("ParseFrameHeader(% x, %d) = %+v, %d, %v", h, limit, hdr, n, err)
		}
		again := zmtp.AppendFrameHeader(nil, hdr.Flags, hdr.Size)
		canonical := (flags&zmtp.FlagLong != 0) == (size > 255)
		if canonical && !bytes.Equal(again, h[:n]) {
			t.Fatalf("AppendFrameHeader(0x%02x, %d) = % x, parsed from % x", hdr.Flags, hdr.Size, again, h[:n])
		}
		back, m, err := zmtp.ParseFrameHeader(again, limit)
		if err != nil || m != len(again) || back.Size != size || back.Flags&^zmtp.FlagLong != flags&^zmtp.FlagLong {
			t.Fatalf("re-encoded % x: %+v, %d, %v", again, back, m, err)
		}
	})
}

// FuzzCommand runs every command parser on the same body: none panics, all
// refusals are typed, at most the parser of the body's own name accepts it,
// and what is accepted re-encodes to the same body.
func FuzzCommand(f *testing.F) {
	for _, s := range commandSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		name, data, err := zmtp.ParseCommand(b)
		if err != nil {
			checkTyped(t, "ParseCommand", b, err)
		}
		// libzmq's PLAIN ERROR: a well-formed command cannot start with 5E
		// (a 94-letter name) and be called ERROR.
		quirk := err == nil && b[0] == 0x5E && string(name) == zmtp.CmdError
		if err == nil && !quirk {
			again := body(t, zmtp.AppendCommand(nil, string(name), data))
			if !bytes.Equal(again, b) {
				t.Fatalf("AppendCommand(%q, % x) body = % x, parsed from % x", name, data, again, b)
			}
		}
		// reencode returns the frame body an encoder gives for what a parser
		// accepted; nil means the parser refused.
		check := func(cmd string, perr error, reencode func() []byte) {
			t.Helper()
			if perr != nil {
				checkTyped(t, "Parse"+cmd, b, perr)
				return
			}
			if err != nil || string(name) != cmd {
				t.Fatalf("parser of %s accepted % x (ParseCommand: %q, %v)", cmd, b, name, err)
			}
			if again := body(t, reencode()); !bytes.Equal(again, b) {
				t.Fatalf("%s re-encoded to % x, parsed from % x", cmd, again, b)
			}
		}
		md, perr := zmtp.ParseReady(b)
		check(zmtp.CmdReady, perr, func() []byte { return zmtp.AppendReady(nil, md...) })
		reason, perr := zmtp.ParseError(b)
		check(zmtp.CmdError, perr, func() []byte {
			if quirk {
				return zmtp.AppendErrorLibzmqPLAIN(nil, string(reason))
			}
			return zmtp.AppendError(nil, string(reason))
		})
		topic, perr := zmtp.ParseSubscribe(b)
		check(zmtp.CmdSubscribe, perr, func() []byte { return zmtp.AppendSubscribe(nil, topic) })
		topic, perr = zmtp.ParseCancel(b)
		check(zmtp.CmdCancel, perr, func() []byte { return zmtp.AppendCancel(nil, topic) })
		ttl, ctx, perr := zmtp.ParsePing(b)
		check(zmtp.CmdPing, perr, func() []byte { return zmtp.AppendPing(nil, ttl, ctx) })
		ctx, perr = zmtp.ParsePong(b)
		check(zmtp.CmdPong, perr, func() []byte { return zmtp.AppendPong(nil, ctx) })
		user, pass, perr := zmtp.ParseHello(b)
		check(zmtp.CmdHello, perr, func() []byte { return zmtp.AppendHello(nil, string(user), string(pass)) })
		perr = zmtp.ParseWelcome(b)
		check(zmtp.CmdWelcome, perr, func() []byte { return zmtp.AppendWelcome(nil) })
		md, perr = zmtp.ParseInitiate(b)
		check(zmtp.CmdInitiate, perr, func() []byte { return zmtp.AppendInitiate(nil, md...) })
	})
}

// FuzzMetadata checks that ParseMetadata and ParseProperties agree, refuse
// only with typed errors, that accepted metadata re-encodes to the same
// bytes (the encoding has no slack), and that values are views into the
// input.
func FuzzMetadata(f *testing.F) {
	for _, s := range metadataSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := zmtp.ParseProperties(data)
		calls := 0
		err2 := zmtp.ParseMetadata(data, func(name, value []byte) error {
			if len(name) == 0 || len(name) > 255 {
				t.Fatalf("name of %d bytes", len(name))
			}
			if len(value) > 0 && !inside(value, data) {
				t.Fatalf("value %q is not a view into the input", value)
			}
			calls++
			return nil
		})
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ParseProperties: %v, ParseMetadata: %v", err, err2)
		}
		if err != nil {
			checkTyped(t, "ParseProperties", data, err)
			checkTyped(t, "ParseMetadata", data, err2)
			return
		}
		if calls != len(md) || zmtp.MetadataLen(md) != len(data) {
			t.Fatalf("%d calls, %d properties, MetadataLen %d of %d bytes", calls, len(md), zmtp.MetadataLen(md), len(data))
		}
		if again := zmtp.AppendMetadata(nil, md...); !bytes.Equal(again, data) {
			t.Fatalf("re-encoded % x, parsed from % x", again, data)
		}
		for _, p := range md {
			v, ok := md.Get(strings.ToUpper(p.Name))
			if !ok {
				t.Fatalf("Get(%q) found nothing", strings.ToUpper(p.Name))
			}
			if len(v) > 0 && !inside(v, data) {
				t.Fatalf("Get(%q) is not a view", p.Name)
			}
		}
	})
}

// inside reports whether v's bytes lie within data's.
func inside(v, data []byte) bool {
	if len(v) == 0 || len(data) == 0 {
		return false
	}
	vs, ve := &v[0], &v[len(v)-1]
	for i := range data {
		if &data[i] == vs {
			return i+len(v) <= len(data) && &data[i+len(v)-1] == ve
		}
	}
	return false
}

// TestSeedCorpus checks that every seed above is committed under
// testdata/fuzz/FuzzX/. With MQWIRE_UPDATE_CORPUS=1 it writes the missing
// ones instead.
func TestSeedCorpus(t *testing.T) {
	write := os.Getenv("MQWIRE_UPDATE_CORPUS") == "1"
	seeds := map[string][]string{}
	for _, s := range greetingSeeds() {
		seeds["FuzzGreeting"] = append(seeds["FuzzGreeting"], corpusEntry(s))
	}
	for _, s := range frameHeaderSeeds() {
		seeds["FuzzFrameHeader"] = append(seeds["FuzzFrameHeader"], corpusEntry(s.h, s.limit))
	}
	for _, s := range commandSeeds(t) {
		seeds["FuzzCommand"] = append(seeds["FuzzCommand"], corpusEntry(s))
	}
	for _, s := range metadataSeeds() {
		seeds["FuzzMetadata"] = append(seeds["FuzzMetadata"], corpusEntry(s))
	}
	for target, entries := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		for _, e := range entries {
			sum := sha256.Sum256([]byte(e))
			path := filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8]))
			got, err := os.ReadFile(path)
			if err == nil && string(got) == e {
				continue
			}
			if !write {
				t.Errorf("%s: seed missing or different (run with MQWIRE_UPDATE_CORPUS=1): %v", path, err)
				continue
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(e), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// corpusEntry renders values in the "go test fuzz v1" format.
func corpusEntry(vals ...any) string {
	var sb strings.Builder
	sb.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&sb, "[]byte(%s)\n", strconv.Quote(string(v)))
		case uint64:
			fmt.Fprintf(&sb, "uint64(%d)\n", v)
		default:
			panic(fmt.Sprintf("corpusEntry: %T", v))
		}
	}
	return sb.String()
}
