package zmq4

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/apisurface"
)

// notOffered says which of zmq4's exported names this shim leaves out on
// purpose (see the package documentation), and why; "" for the others.
func notOffered(name string) (why string) {
	switch {
	case strings.HasPrefix(name, "NewC"), name == "CWithID":
		return "the C-backed sockets (cgo)"
	case strings.HasPrefix(name, "Cmd") && name != "CmdMsg",
		strings.HasPrefix(name, "Conn"), strings.HasPrefix(name, "Metadata"),
		strings.HasPrefix(name, "Property"), name == "Open",
		name == "ErrBadCmd", name == "ErrBadFrame", name == "ErrClosedConn":
		return "zmq4's connection internals and their errors"
	case name == "RegisterTransport":
		return "custom transports"
	case name == "Security.Handshake", name == "Security.Encrypt", name == "Security.Decrypt":
		return "zmq4's Security works on its own connection type: here it is sealed to mqwire's mechanisms"
	}
	return ""
}

// TestAPICoversZmq4 checks that every exported name of zmq4 v0.17.0 (its
// package and security/plain: functions, types, variables, constants,
// methods, interfaces' methods and structs' fields) is here too, but for
// what notOffered names: code written for zmq4 compiles against the shim
// with its import paths changed.
func TestAPICoversZmq4(t *testing.T) {
	root, err := apisurface.ModuleDir("github.com/go-zeromq/zmq4")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{".", "security/plain"} {
		theirs, err := apisurface.Exported(filepath.Join(root, pkg))
		if err != nil {
			t.Fatal(err)
		}
		ours, err := apisurface.Exported(filepath.FromSlash(pkg))
		if err != nil {
			t.Fatal(err)
		}
		if len(theirs) == 0 {
			t.Fatalf("no exported names found in zmq4's %s", pkg)
		}
		missing, differ := apisurface.Compare(theirs, ours,
			func(name string) bool { return notOffered(name) != "" }, nil)
		if len(missing) > 0 {
			t.Errorf("package %q lacks zmq4's %s", pkg, strings.Join(missing, ", "))
		}
		for _, d := range differ {
			t.Errorf("package %q: %s", pkg, d)
		}
	}
}
