package zmtp_test

import (
	"bytes"
	"testing"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// greeting builds a 64-byte greeting by hand.
func greeting(padding byte, major, minor byte, mech string, asServer byte) []byte {
	g := cat(0xFF, make([]byte, 7), padding, 0x7F, major, minor, mech)
	g = append(g, make([]byte, 20-len(mech))...)
	g = append(g, asServer)
	return append(g, make([]byte, 31)...)
}

func TestAppendGreeting(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    zmtp.Greeting
		want []byte
	}{
		{"libzmq null", zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, Padding: 1},
			greeting(1, 3, 1, "NULL", 0)},
		{"3.0 plain server", zmtp.Greeting{Major: 3, Minor: 0, Mechanism: zmtp.MechanismPlain, AsServer: true},
			greeting(0, 3, 0, "PLAIN", 1)},
		{"curve", zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismCurve, Padding: 4},
			greeting(4, 3, 1, "CURVE", 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := zmtp.AppendGreeting([]byte("x"), tc.g)
			if !bytes.Equal(got[1:], tc.want) || got[0] != 'x' {
				t.Fatalf("AppendGreeting(%+v) =\n% x\nwant\n% x", tc.g, got[1:], tc.want)
			}
			if len(got)-1 != zmtp.GreetingSize {
				t.Fatalf("%d bytes", len(got)-1)
			}
			if err := zmtp.CheckSignature(got[1 : 1+zmtp.SignatureSize]); err != nil {
				t.Fatal(err)
			}
			back, err := zmtp.ParseGreeting(got[1:])
			if err != nil || back != tc.g {
				t.Fatalf("ParseGreeting = %+v, %v; want %+v", back, err, tc.g)
			}
		})
	}
	mustPanic(t, "a 21-byte mechanism", func() {
		zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Mechanism: "ABCDEFGHIJKLMNOPQRSTU"})
	})
}

func TestParseGreeting(t *testing.T) {
	g, err := zmtp.ParseGreeting(greeting(9, 3, 0, "NULL", 0))
	if err != nil {
		t.Fatal(err)
	}
	if !g.IsZMTP30() || g.Mechanism != zmtp.MechanismNull || g.Padding != 9 || g.AsServer {
		t.Fatalf("%+v", g)
	}
	// Higher versions are accepted (and spoken to as 3.1).
	for _, v := range [][2]byte{{3, 1}, {3, 2}, {4, 0}, {255, 255}} {
		g, err := zmtp.ParseGreeting(greeting(1, v[0], v[1], "CURVE", 0))
		if err != nil || g.IsZMTP30() || g.Major != v[0] || g.Minor != v[1] {
			t.Errorf("version %d.%d: %+v, %v", v[0], v[1], g, err)
		}
	}
	// Neither the padding, the as-server byte nor the filler is validated.
	odd := greeting(0, 3, 1, "PLAIN", 7)
	copy(odd[1:9], "anything")
	odd[63] = 0xAA
	if g, err := zmtp.ParseGreeting(odd); err != nil || !g.AsServer || g.Mechanism != zmtp.MechanismPlain {
		t.Fatalf("%+v, %v", g, err)
	}
	// Extra bytes after the greeting are left alone.
	if _, err := zmtp.ParseGreeting(append(greeting(1, 3, 1, "NULL", 0), 4, 0)); err != nil {
		t.Fatal(err)
	}
}

func TestParseGreetingRejects(t *testing.T) {
	good := greeting(1, 3, 1, "NULL", 0)
	with := func(off int, b ...byte) []byte {
		g := bytes.Clone(good)
		copy(g[off:], b)
		return g
	}
	for _, tc := range []struct {
		name string
		in   []byte
		says string
	}{
		{"empty", nil, "short greeting (0 bytes)"},
		{"signature only", good[:10], "short greeting (10 bytes)"},
		{"63 bytes", good[:63], "short greeting (63 bytes)"},
		{"sp header", []byte{0, 'S', 'P', 0, 0, 0x31, 0, 0}, "peer speaks SP"},
		{"sp header short", []byte{0, 'S', 'P', 0}, "peer speaks SP"},
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n"), "peer speaks HTTP"},
		{"tls", cat(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03), "peer speaks TLS"},
		{"zmtp 1.0", cat(0x01, 0x00, 0x06, 0x00, "hello", "world"), "ZMTP 1.0 or not ZMTP"},
		{"zmtp 1.0 long identity", with(9, 0x00), "ZMTP 1.0 (unversioned)"},
		{"bad byte 9", with(9, 0x7D), "bad greeting signature"},
		{"revision 0", with(10, 0), "ZMTP 1.0 (revision 0)"},
		{"zmtp 2.0", with(10, 1), "ZMTP 2.0 (revision 1)"},
		{"zmtp 2.0 short", with(10, 1)[:12], "ZMTP 2.0"},
		{"revision 2", with(10, 2), "revision 2"},
		{"empty mechanism", with(12, 0, 0, 0, 0), "empty mechanism name"},
		{"unknown mechanism", with(12, 'G', 'S', 'S', 'A', 'P', 'I'), `unknown mechanism "GSSAPI"`},
		{"lower case", with(12, 'n', 'u', 'l', 'l'), `unknown mechanism "null"`},
		{"no padding", with(12, []byte("NULLNULLNULLNULLNULL")...), `unknown mechanism "NULLNULLNULLNULLNULL"`},
		{"garbage after name", with(20, 'x'), "after the NUL padding"},
		{"garbage at the end of the field", with(31, 1), "after the NUL padding"},
		{"space padded", with(16, ' '), `unknown mechanism "NULL "`},
		{"name then NUL then name", with(12, 'N', 'U', 'L', 'L', 0, 'N'), "after the NUL padding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := zmtp.ParseGreeting(tc.in)
			if err == nil {
				t.Fatalf("ParseGreeting(% x) = %+v", tc.in, g)
			}
			wantProtoErr(t, err, tc.says)
		})
	}
}

func TestCheckSignature(t *testing.T) {
	if err := zmtp.CheckSignature([]byte{0xFF, 1, 2, 3, 4, 5, 6, 7, 8, 0x7F}); err != nil {
		t.Errorf("padding must not be validated: %v", err)
	}
	if err := zmtp.CheckSignature(greeting(1, 1, 0, "", 0)); err != nil {
		t.Errorf("only the first 10 bytes count: %v", err)
	}
	for _, tc := range []struct {
		in   []byte
		says string
	}{
		{nil, "short greeting signature (0 bytes)"},
		{[]byte{0xFF, 0, 0, 0}, "short greeting signature (4 bytes)"},
		{[]byte{0, 'S', 'P', 0, 0}, "peer speaks SP"},
		{[]byte("POST /x HTTP/1.1"), "peer speaks HTTP"},
		{[]byte("HTTP/1.1 200 OK"), "peer speaks HTTP"},
		{[]byte{0xFE, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F}, "bad greeting signature"},
		{[]byte{0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 0x00}, "ZMTP 1.0 (unversioned)"},
		{[]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF}, "bad greeting signature"},
	} {
		wantProtoErr(t, zmtp.CheckSignature(tc.in), tc.says)
	}
	for major := 0; major < 256; major++ {
		err := zmtp.CheckRevision(byte(major))
		if major >= 3 && err != nil {
			t.Errorf("CheckRevision(%d): %v", major, err)
		}
		if major < 3 {
			wantProtoErr(t, err, "need ZMTP 3.x")
		}
	}
}

func TestIsSPHeader(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want bool
	}{
		{[]byte{0, 'S', 'P', 0}, true},
		{[]byte{0, 'S', 'P', 0, 0, 0x30, 0, 0}, true},
		{[]byte{0, 'S', 'P'}, false},
		{nil, false},
		{[]byte{0xFF, 'S', 'P', 0}, false},
		{[]byte{0, 's', 'p', 0}, false},
	} {
		if got := zmtp.IsSPHeader(tc.in); got != tc.want {
			t.Errorf("IsSPHeader(% x) = %v", tc.in, got)
		}
	}
}
