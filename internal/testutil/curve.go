package testutil

import (
	"testing"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// CurveKeys are a CURVE server's and a client's long-term key pairs, made
// for a test.
type CurveKeys struct {
	ServerPublic, ServerSecret zmtp.CurveKey
	ClientPublic, ClientSecret zmtp.CurveKey
}

// NewCurveKeys makes two key pairs.
func NewCurveKeys(t testing.TB) CurveKeys {
	t.Helper()
	var k CurveKeys
	var err error
	if k.ServerPublic, k.ServerSecret, err = zmtp.NewCurveKeyPair(); err != nil {
		t.Fatal(err)
	}
	if k.ClientPublic, k.ClientSecret, err = zmtp.NewCurveKeyPair(); err != nil {
		t.Fatal(err)
	}
	return k
}
