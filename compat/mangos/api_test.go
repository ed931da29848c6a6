package mangos_test

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"testing"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwerrors "github.com/mqwire/mqwire/compat/mangos/errors"
	mwprotocol "github.com/mqwire/mqwire/compat/mangos/protocol"
	mwpush "github.com/mqwire/mqwire/compat/mangos/protocol/push"
	"github.com/mqwire/mqwire/internal/apisurface"
)

// notOffered are the parts of mangos's API this shim leaves out on purpose
// (see the package documentation), by package ("" for the root) and name;
// "*" is a whole package.
var notOffered = map[string]string{
	"protocol/star:*":        "mangos's experimental star protocol",
	"protocol/xstar:*":       "mangos's experimental star protocol",
	"transport:*":            "the interfaces of custom transports",
	":ProtoStar":             "the star protocol",
	":ProtocolBase":          "custom protocols",
	":ProtocolContext":       "custom protocols",
	":ProtocolPipe":          "custom protocols",
	":TranDialer":            "custom transports",
	":TranListener":          "custom transports",
	":TranPipe":              "custom transports",
	":Transport":             "custom transports",
	"protocol:Context":       "custom protocols",
	"protocol:Pipe":          "custom protocols",
	"protocol:Protocol":      "custom protocols",
	"protocol:MakeSocket":    "custom protocols",
	"protocol:ProtoStar":     "the star protocol",
	"protocol/*:NewProtocol": "custom protocols (each package's NewSocket makes its socket)",
	"transport/*:Transport":  "custom transports (every socket has every transport)",
}

// excused reports whether name of package pkg is in notOffered, or is a
// method or field of a type that is.
func excused(pkg, name string) bool {
	dir, _ := path.Split(pkg)
	typ, _, _ := strings.Cut(name, ".")
	for _, key := range []string{pkg + ":*", pkg + ":" + name, pkg + ":" + typ, dir + "*:" + name} {
		if _, ok := notOffered[key]; ok {
			return true
		}
	}
	return false
}

// sameShape reports whether two shapes differ only in naming one type by
// two of its names: protocol.Socket is an alias of mangos.Socket, which
// mangos's protocol packages return as the one and this shim's as the
// other.
func sameShape(a, b string) bool {
	return strings.ReplaceAll(a, "protocol.Socket", "mangos.Socket") == strings.ReplaceAll(b, "protocol.Socket", "mangos.Socket")
}

// TestAPICoversMangos checks that every exported name of every package of
// mangos v3.4.2 that applications import (the root, errors, protocol and
// its protocols, transport and its transports) is in the package of the
// same path here, but for what notOffered lists: code written for mangos
// compiles against the shim with its import paths changed.
func TestAPICoversMangos(t *testing.T) {
	root := mangosDir(t)
	pkgs := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch strings.Split(rel, "/")[0] {
			case "internal", "examples", "perf", "test", "macat":
				return filepath.SkipDir // not imported by applications
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			pkgs[strings.TrimPrefix(path.Dir(rel), ".")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("found %d packages in %s, want mangos's root, protocols and transports", len(pkgs), root)
	}
	for pkg := range pkgs {
		theirs, err := apisurface.Exported(filepath.Join(root, pkg))
		if err != nil {
			t.Fatal(err)
		}
		ours, err := apisurface.Exported(filepath.FromSlash("./" + pkg))
		if errors.Is(err, fs.ErrNotExist) {
			ours = apisurface.API{} // no package here: every name is missing
		} else if err != nil {
			t.Fatal(err)
		}
		missing, differ := apisurface.Compare(theirs, ours,
			func(name string) bool { return excused(pkg, name) }, sameShape)
		if len(missing) > 0 {
			t.Errorf("package %q lacks mangos's %s", pkg, strings.Join(missing, ", "))
		}
		for _, d := range differ {
			t.Errorf("package %q: %s", pkg, d)
		}
	}
}

// TestErrorsPackage checks that package errors's values are package
// mangos's, as a closed socket returns them.
func TestErrorsPackage(t *testing.T) {
	s := shim(t, mwpush.NewSocket)
	s.Close()
	if err := s.Send([]byte("x")); err != mwerrors.ErrClosed {
		t.Errorf("Send on a closed socket: %v, want errors.ErrClosed", err)
	}
	same := []struct{ a, b error }{
		{mwerrors.ErrClosed, mw.ErrClosed},
		{mwerrors.ErrNoPeers, mw.ErrNoPeers},
		{mwprotocol.ErrProtoState, mw.ErrProtoState},
	}
	for _, c := range same {
		if c.a != c.b {
			t.Errorf("%v is not package mangos's %v", c.a, c.b)
		}
	}
}
