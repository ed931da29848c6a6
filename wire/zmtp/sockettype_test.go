package zmtp_test

import (
	"testing"

	"github.com/mqwire/mqwire/wire/zmtp"
)

var socketTypes = []string{
	zmtp.TypePAIR, zmtp.TypePUB, zmtp.TypeSUB, zmtp.TypeREQ, zmtp.TypeREP, zmtp.TypeDEALER,
	zmtp.TypeROUTER, zmtp.TypePULL, zmtp.TypePUSH, zmtp.TypeXPUB, zmtp.TypeXSUB,
}

func TestCompatible(t *testing.T) {
	// The pairs of wire-notes.md, written out once each.
	pairs := map[[2]string]bool{
		{"REQ", "REP"}: true, {"REQ", "ROUTER"}: true,
		{"REP", "DEALER"}:    true,
		{"DEALER", "DEALER"}: true, {"DEALER", "ROUTER"}: true,
		{"ROUTER", "ROUTER"}: true,
		{"PUB", "SUB"}:       true, {"PUB", "XSUB"}: true, {"XPUB", "SUB"}: true, {"XPUB", "XSUB"}: true,
		{"PUSH", "PULL"}: true,
		{"PAIR", "PAIR"}: true,
	}
	n := 0
	for _, a := range socketTypes {
		if !zmtp.ValidSocketType(a) {
			t.Errorf("ValidSocketType(%s) = false", a)
		}
		for _, b := range socketTypes {
			want := pairs[[2]string{a, b}] || pairs[[2]string{b, a}]
			if got := zmtp.Compatible(a, b); got != want {
				t.Errorf("Compatible(%s, %s) = %v, want %v", a, b, got, want)
			}
			if want {
				n++
			}
		}
	}
	// Each pair counts twice (both orders), a type paired with itself once.
	want := 0
	for p := range pairs {
		want += 2
		if p[0] == p[1] {
			want--
		}
	}
	if n != want {
		t.Errorf("%d compatible ordered pairs, want %d", n, want)
	}
	for _, bad := range []string{"", "req", "Req", "STREAM", "CLIENT", "SERVER", "RADIO", "DISH"} {
		if zmtp.ValidSocketType(bad) {
			t.Errorf("ValidSocketType(%q) = true", bad)
		}
		for _, b := range socketTypes {
			if zmtp.Compatible(bad, b) || zmtp.Compatible(b, bad) {
				t.Errorf("Compatible(%q, %s) = true", bad, b)
			}
		}
	}
}

// ZMTP 2.0's socket type numbers are libzmq's ZMQ_PAIR (0) to ZMQ_XSUB
// (10), both ways; no other number or name has one.
func TestTypeNumbers(t *testing.T) {
	want := map[string]byte{
		zmtp.TypePAIR: 0, zmtp.TypePUB: 1, zmtp.TypeSUB: 2, zmtp.TypeREQ: 3, zmtp.TypeREP: 4, zmtp.TypeDEALER: 5,
		zmtp.TypeROUTER: 6, zmtp.TypePULL: 7, zmtp.TypePUSH: 8, zmtp.TypeXPUB: 9, zmtp.TypeXSUB: 10,
	}
	for name, n := range want {
		if got, ok := zmtp.TypeNumber(name); !ok || got != n {
			t.Errorf("TypeNumber(%s) = %d, %v, want %d", name, got, ok, n)
		}
		if got, ok := zmtp.TypeName(n); !ok || got != name {
			t.Errorf("TypeName(%d) = %q, %v, want %s", n, got, ok, name)
		}
	}
	if _, ok := zmtp.TypeNumber("CLIENT"); ok {
		t.Error("TypeNumber knows CLIENT")
	}
	for n := 11; n < 256; n++ {
		if name, ok := zmtp.TypeName(byte(n)); ok {
			t.Errorf("TypeName(%d) = %q", n, name)
		}
	}
}
