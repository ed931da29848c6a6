package apisurface

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const sample = `package sample

// Only exported names count; methods of unexported types do not.
type Socket interface {
	Send(b []byte) error
	recv() ([]byte, error)
}

type Msg struct {
	Frames [][]byte
	err    error
}

type hidden struct{}

func (hidden) Exported() {}

func (m *Msg) Clone() Msg { return *m }

func New(name string, opts ...int) (Socket, error) { return nil, nil }

const ErrClosed = "closed"

var Default, other = 1, 2
`

func TestExported(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sample.go"), []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	// A test file's names are not the package's API.
	if err := os.WriteFile(filepath.Join(dir, "sample_test.go"), []byte("package sample\n\nfunc TestX() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Exported(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := API{
		"Socket":      "type",
		"Socket.Send": "func([]byte) (error)",
		"Msg":         "type",
		"Msg.Frames":  "[][]byte",
		"Msg.Clone":   "func() (Msg)",
		"New":         "func(string, ...int) (Socket, error)",
		"ErrClosed":   "const",
		"Default":     "var",
	}
	for name, shape := range want {
		if got[name] != shape {
			t.Errorf("%s: %q, want %q", name, got[name], shape)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s (%q) listed, want it left out", name, got[name])
		}
	}
}

func TestCompare(t *testing.T) {
	theirs := API{"A": "type", "B": "func() (int)", "C": "var", "D": "const"}
	ours := API{"A": "type", "B": "func() (int64)", "D": "const", "E": "var"}
	missing, differ := Compare(theirs, ours, func(name string) bool { return name == "D" }, nil)
	if !slices.Equal(missing, []string{"C"}) {
		t.Errorf("missing %q, want [C]", missing)
	}
	if want := []string{"B: func() (int64) here, func() (int) there"}; !slices.Equal(differ, want) {
		t.Errorf("differ %q, want %q", differ, want)
	}
	_, differ = Compare(theirs, ours, func(string) bool { return false }, func(a, b string) bool { return true })
	if len(differ) != 0 {
		t.Errorf("differ %q with every spelling the same, want none", differ)
	}
}
