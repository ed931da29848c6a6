package zmq4

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
)

// echoPy is a libzmq REP (pyzmq) that echoes n requests, with PLAIN
// when given a user name and password (checked by pyzmq's ZAP handler).
const echoPy = `
import sys, zmq
n, plain = int(sys.argv[1]), sys.argv[2:]
ctx = zmq.Context()
auth = None
s = ctx.socket(zmq.REP)
if plain:
    from zmq.auth.thread import ThreadAuthenticator
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={plain[0]: plain[1]})
    s.plain_server = True
s.bind("tcp://127.0.0.1:*")
print("endpoint " + s.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
for _ in range(n):
    s.send_multipart(s.recv_multipart())
print("ok", flush=True)
s.close()
if auth:
    auth.stop()
`

// TestShimWithLibzmq: the shim's REQ against a libzmq REP, with NULL and
// with PLAIN security.
func TestShimWithLibzmq(t *testing.T) {
	py, err := testutil.PythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	for _, plain := range []bool{false, true} {
		name := "null"
		if plain {
			name = "plain"
		}
		t.Run(name, func(t *testing.T) {
			const n = 10
			args := []string{"-c", echoPy, strconv.Itoa(n)}
			var opts []Option
			if plain {
				args = append(args, "u", "p")
				opts = append(opts, WithSecurity(NewPlainSecurity("u", "p")))
			}
			cmd := exec.Command(py, args...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			out := bufio.NewScanner(stdout)
			if !out.Scan() || !strings.HasPrefix(out.Text(), "endpoint ") {
				t.Fatalf("libzmq peer: %q", out.Text())
			}
			req := NewReq(context.Background(), append(opts, WithLogger(quiet))...)
			defer req.Close()
			if err := req.Dial(strings.TrimPrefix(out.Text(), "endpoint ")); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				ask(t, req, "libzmq", i)
			}
			if !out.Scan() || out.Text() != "ok" {
				t.Fatalf("libzmq peer: %q", out.Text())
			}
			if err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
