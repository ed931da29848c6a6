package mangos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/apisurface"
)

// mangosExamples are the example programs of mangos v3: every one.
var mangosExamples = []string{"bus", "context", "pair", "pipeline", "pubsub", "raw", "reqrep", "survey", "websocket"}

// TestMangosExamples is the drop-in claim made concrete: mangos's own
// example programs, with only their import paths changed, build against
// this package, and run against the same programs built with mangos, each
// side on either library (the context example's server answers through
// rep contexts, its workers sleeping up to a second; the websocket
// example's server mounts a rep and a pub socket on its own HTTP server
// beside a page, through ws.OptionWebSocketHandler).
func TestMangosExamples(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command to build the examples with: %v", err)
	}
	dir := t.TempDir()
	shimBin, mangosBin := filepath.Join(dir, "shim"), filepath.Join(dir, "mangos")
	buildShimExamples(t, shimBin)
	buildMangosExamples(t, mangosBin, "reqrep", "raw", "pipeline", "context", "websocket")

	type run struct {
		example      string
		server       []string // the long-running side's arguments, after the URL's place
		client       []string
		clientOutput string // what the client's output must hold
		serverOutput string // what the server's must hold, when it ends by itself
		// only names the one pairing of libraries to run, for a slow case.
		only string
	}
	runs := []run{
		{example: "reqrep", server: []string{"node0", "URL"}, client: []string{"node1", "URL"}, clientOutput: "NODE1: RECEIVED DATE "},
		{example: "raw", server: []string{"server", "URL", "4"}, client: []string{"client", "URL", "8"}, clientOutput: "Client:    7"},
		{example: "pipeline", server: []string{"node0", "URL"}, client: []string{"node1", "URL", "STOP"}, serverOutput: `NODE0: RECEIVED "STOP"`},
		{example: "context", server: []string{"server", "URL"}, client: []string{"client", "URL", "John"}, clientOutput: "Received response 'Hello, John'"},
		{example: "websocket", server: []string{"server", "PORT"}, client: []string{"req", "PORT"}, clientOutput: "REPLY #0 "},
		{example: "websocket", server: []string{"server", "PORT"}, client: []string{"static", "PORT"}, clientOutput: "STATIC"},
		// The publisher sends every 5 s; a subscriber waits for the next.
		{example: "websocket", server: []string{"server", "PORT"}, client: []string{"sub", "PORT"}, clientOutput: "PUB #", only: "shim-server-mangos-client"},
	}
	sides := []struct{ name, server, client string }{
		{"shim-server-mangos-client", shimBin, mangosBin},
		{"mangos-server-shim-client", mangosBin, shimBin},
		{"shim-both", shimBin, shimBin},
	}
	for _, r := range runs {
		for _, s := range sides {
			if r.only != "" && r.only != s.name {
				continue
			}
			t.Run(r.example+"/"+r.client[0]+"/"+s.name, func(t *testing.T) {
				url := "tcp://" + freeAddr(t)
				_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "tcp://"))
				subst := func(args []string) []string {
					out := make([]string, len(args))
					for i, a := range args {
						out[i] = strings.ReplaceAll(strings.ReplaceAll(a, "URL", url), "PORT", port)
					}
					return out
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				var serverOut bytes.Buffer
				server := exec.CommandContext(ctx, filepath.Join(s.server, r.example), subst(r.server)...)
				server.Stdout, server.Stderr = &serverOut, &serverOut
				if err := server.Start(); err != nil {
					t.Fatal(err)
				}
				serverDone := make(chan error, 1)
				go func() { serverDone <- server.Wait() }()
				defer func() {
					server.Process.Kill()
					<-serverDone
				}()
				waitListening(t, strings.TrimPrefix(url, "tcp://"))
				client := exec.CommandContext(ctx, filepath.Join(s.client, r.example), subst(r.client)...)
				out, err := client.CombinedOutput()
				if err != nil || !strings.Contains(string(out), r.clientOutput) {
					t.Fatalf("client: %v; output:\n%s\nserver's:\n%s", err, out, serverOut.String())
				}
				if r.serverOutput != "" {
					select {
					case err := <-serverDone:
						serverDone <- err // for the deferred wait
						if err != nil || !strings.Contains(serverOut.String(), r.serverOutput) {
							t.Fatalf("server: %v; output:\n%s", err, serverOut.String())
						}
					case <-ctx.Done():
						t.Fatalf("server did not end; output:\n%s", serverOut.String())
					}
				}
			})
		}
	}
}

// buildShimExamples builds mangos's examples with their imports pointed at
// the shim, into dir: the rewritten sources are laid over a directory of
// this module that does not exist (go build -overlay), so that they
// resolve the module's packages without being written into it.
func buildShimExamples(t *testing.T, dir string) {
	src := mangosDir(t)
	srcDir := t.TempDir()
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	replace := map[string]string{}
	var pkgs []string
	for _, ex := range mangosExamples {
		files, err := filepath.Glob(filepath.Join(src, "examples", ex, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("mangos example %s: %v (%d files)", ex, err, len(files))
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b = bytes.ReplaceAll(b, []byte(`"go.nanomsg.org/mangos/v3`), []byte(`"github.com/mqwire/mqwire/compat/mangos`))
			rewritten := filepath.Join(srcDir, ex+"-"+filepath.Base(f))
			if err := os.WriteFile(rewritten, b, 0o644); err != nil {
				t.Fatal(err)
			}
			replace[filepath.Join(here, "internal", "examples", ex, filepath.Base(f))] = rewritten
		}
		pkgs = append(pkgs, "./internal/examples/"+ex)
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(srcDir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	goBuild(t, append([]string{"-overlay", overlayFile, "-o", dir + string(filepath.Separator)}, pkgs...)...)
}

// buildMangosExamples builds the named examples as mangos ships them.
func buildMangosExamples(t *testing.T, dir string, examples ...string) {
	args := []string{"-o", dir + string(filepath.Separator)}
	for _, ex := range examples {
		args = append(args, "go.nanomsg.org/mangos/v3/examples/"+ex)
	}
	goBuild(t, args...)
}

func goBuild(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// mangosDir returns the directory of the mangos module's source.
func mangosDir(t *testing.T) string {
	dir, err := apisurface.ModuleDir("go.nanomsg.org/mangos/v3")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening waits until something accepts connections at addr.
func waitListening(t *testing.T, addr string) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens at %s after %v (%s)", addr, timeout, runtime.GOOS)
}
