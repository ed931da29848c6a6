package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// allBytes is every byte value once, in order.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// trickyBodies are messages that exercise every branch of every format.
func trickyBodies() [][]byte {
	return [][]byte{
		[]byte("a\x01b\"c\n"),
		{},
		[]byte(`back\slash "quotes" tab	cr` + "\r"),
		allBytes(),
		{0x00},
		{0x7f, 0x80, 0xfe, 0xff},
		bytes.Repeat([]byte{'x'}, 255),
		bytes.Repeat([]byte{'y'}, 256),
		bytes.Repeat([]byte{'z'}, 65535),
		bytes.Repeat([]byte{0xab}, 65536),
		[]byte("\\x41 is not A"),
	}
}

func TestFormatByHand(t *testing.T) {
	body := []byte("a\x01b\"c\n\t\r\\\x7f\xff ~")
	cases := map[format]string{
		formatUnset:   "",
		formatNo:      "",
		formatRaw:     string(body),
		formatASCII:   "a.b\"c...\\.. ~",
		formatQuoted:  `"a\x01b\"c\n\t\r\\\x7f\xff ~"` + "\n",
		formatHex:     `"\x61\x01\x62\x22\x63\x0a\x09\x0d\x5c\x7f\xff\x20\x7e"` + "\n",
		formatMsgpack: "\xc4\x0d" + string(body),
	}
	for f, want := range cases {
		if got := string(appendMessage(nil, body, f)); got != want {
			t.Errorf("format %d: %q, want %q", f, got, want)
		}
	}
	empty := map[format]string{
		formatRaw: "", formatASCII: "", formatQuoted: "\"\"\n", formatHex: "\"\"\n", formatMsgpack: "\xc4\x00",
	}
	for f, want := range empty {
		if got := string(appendMessage(nil, nil, f)); got != want {
			t.Errorf("format %d of an empty message: %q, want %q", f, got, want)
		}
	}
	// MessagePack length forms.
	for n, head := range map[int]string{255: "\xc4\xff", 256: "\xc5\x01\x00", 65535: "\xc5\xff\xff", 65536: "\xc6\x00\x01\x00\x00"} {
		got := appendMessage(nil, make([]byte, n), formatMsgpack)
		if !strings.HasPrefix(string(got), head) || len(got) != len(head)+n {
			t.Errorf("msgpack of %d bytes starts %q (length %d)", n, got[:min(len(got), 6)], len(got))
		}
	}
	// appendMessage appends.
	if got := string(appendMessage([]byte("x"), []byte("y"), formatQuoted)); got != "x\"y\"\n" {
		t.Errorf("append: %q", got)
	}
}

// sendTo dials url with an mqwire push socket and sends bodies in order.
func sendTo(t *testing.T, url string, bodies [][]byte) {
	t.Helper()
	s, err := push.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Dial(url); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, b := range bodies {
		if err := s.SendContext(ctx, socket.NewMessageBytes(b)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
}

// TestFormatsMatchNngcat has nngcat and mqcat each receive the same tricky
// messages in every format and expects byte-identical output, equal to what
// appendMessage makes.
func TestFormatsMatchNngcat(t *testing.T) {
	nngcat := peer(t, "nngcat")
	bin := mqcat(t)
	bodies := trickyBodies()
	type tc struct {
		impl, bin string
		fmtArgs   []string
		f         format
	}
	var cases []tc
	for _, fa := range []struct {
		args []string
		f    format
	}{
		{nil, formatUnset},
		{[]string{"--format", "no"}, formatNo},
		{[]string{"--raw"}, formatRaw},
		{[]string{"-A"}, formatASCII},
		{[]string{"--format=ascii"}, formatASCII},
		{[]string{"-Q"}, formatQuoted},
		{[]string{"--quoted"}, formatQuoted},
		{[]string{"--hex"}, formatHex},
		{[]string{"--format:hex"}, formatHex},
		{[]string{"--msgpack"}, formatMsgpack},
	} {
		for _, impl := range []struct{ name, bin string }{{"nngcat", nngcat}, {"mqcat", bin}} {
			cases = append(cases, tc{impl.name, impl.bin, fa.args, fa.f})
		}
	}
	runLimited(t, 8, cases, func(c tc) string { return c.impl + "/" + strings.Join(c.fmtArgs, "") }, func(t *testing.T, c tc) {
		e, p := startListener(t, "tcp", func(e endpoint) *proc {
			args := append([]string{"--pull0", "-L", itoa(e.port), "-C", itoa(len(bodies))}, c.fmtArgs...)
			return startProc(t, nil, c.bin, args...)
		})
		sendTo(t, e.url(), bodies)
		if !p.wait(10 * time.Second) {
			t.Fatalf("receiver did not end: %s", p.report())
		}
		var want []byte
		for _, b := range bodies {
			want = appendMessage(want, b, c.f)
		}
		got := p.stdout.String()
		if p.code != 0 || got != string(want) {
			t.Errorf("output differs from appendMessage at byte %d: %s\nwant %q", firstDiff(got, string(want)), p.report(), truncate(string(want)))
		}
	})
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func truncate(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}
