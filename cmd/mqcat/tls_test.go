package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
)

// mqcat's TLS options against nngcat's, over tls+tcp, each side
// listening in turn.
func TestTLS(t *testing.T) {
	nngcat := peer(t, "nngcat")
	bin := mqcat(t)
	certs := testutil.NewTLSCerts(t)
	t.Run("mqcat listens", func(t *testing.T) {
		t.Parallel()
		// nngcat's dial fails at once if nothing listens: start it once
		// mqcat listens.
		e, p := startListener(t, "tcp", func(e endpoint) *proc {
			return startProc(t, nil, bin, "--pull0", "--listen", "tls+"+e.url(), "--cert", certs.ServerCertFile, "--key", certs.ServerKeyFile, "-Q", "-C", "1")
		})
		startProc(t, nil, nngcat, "--push0", "--dial", "tls+"+e.url(), "--cacert", certs.CAFile, "-D", "x", "-i", "1")
		finish(t, p, 0, "\"x\"\n", "")
	})
	t.Run("mqcat dials", func(t *testing.T) {
		t.Parallel()
		e, p := startListener(t, "tcp", func(e endpoint) *proc {
			return startProc(t, nil, nngcat, "--pull0", "--listen", "tls+"+e.url(), "--cert", certs.ServerCertFile, "--key", certs.ServerKeyFile, "-Q")
		})
		q := startProc(t, nil, bin, "--push0", "--dial", "tls+"+e.url(), "--cacert", certs.CAFile, "-D", "y")
		finish(t, q, 0, "", "")
		deadline := time.Now().Add(10 * time.Second)
		for p.stdout.String() != "\"y\"\n" {
			if time.Now().After(deadline) {
				t.Fatalf("nngcat: %s", p.report())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("untrusted server", func(t *testing.T) {
		t.Parallel()
		other := testutil.NewTLSCerts(t)
		e, _ := startListener(t, "tcp", func(e endpoint) *proc {
			return startProc(t, nil, nngcat, "--pull0", "--listen", "tls+"+e.url(), "--cert", certs.ServerCertFile, "--key", certs.ServerKeyFile, "-Q")
		})
		q := startProc(t, nil, bin, "--push0", "--dial", "tls+"+e.url(), "--cacert", other.CAFile, "-D", "y", "--send-timeout", "1")
		if !q.wait(10 * time.Second) {
			q.kill()
			t.Fatalf("mqcat did not give up: %s", q.report())
		}
		if q.code == 0 || !strings.Contains(q.stderr.String(), "certificate") {
			t.Fatalf("want a failure naming the certificate: %s", q.report())
		}
	})
	t.Run("bad certificate file", func(t *testing.T) {
		t.Parallel()
		p := startProc(t, nil, bin, "--pull0", "--listen", "tls+tcp://127.0.0.1:0", "--cert", certs.CAFile, "--key", certs.ClientKeyFile)
		if !p.wait(10*time.Second) || p.code == 0 {
			t.Fatalf("want a failure: %s", p.report())
		}
	})
}
