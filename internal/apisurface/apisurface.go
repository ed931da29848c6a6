// Package apisurface lists the exported names of a Go package from its
// source, with the shape of each, so that a test can check that an API
// shim (compat/zmq4, compat/mangos) has every name of the module it stands
// in for, declared alike.
package apisurface

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// API maps each exported name of a package to its shape: "func(params)
// (results)" with the parameters' and results' types as written, for
// functions, methods and interfaces' methods; the type as written for
// struct fields; "type", "const" or "var" for the rest. Methods,
// interfaces' methods and struct fields are named "Type.Name".
type API map[string]string

// Exported returns the exported names declared in the non-test Go files
// of dir (embedded fields and interfaces are not followed). Files built
// only for other systems count too, as build constraints are not read: a
// shim must compile wherever the original does.
func Exported(dir string) (API, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	r := reader{fset: token.NewFileSet(), api: API{}}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(r.fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			r.decl(d)
		}
	}
	return r.api, nil
}

// reader fills an API from declarations.
type reader struct {
	fset *token.FileSet
	api  API
}

func (r *reader) decl(d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return
		}
		if d.Recv == nil {
			r.api[d.Name.Name] = r.funcShape(d.Type)
			return
		}
		recv := d.Recv.List[0].Type
		if star, ok := recv.(*ast.StarExpr); ok {
			recv = star.X
		}
		if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
			r.api[id.Name+"."+d.Name.Name] = r.funcShape(d.Type)
		}
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch spec := spec.(type) {
			case *ast.TypeSpec:
				if spec.Name.IsExported() {
					r.api[spec.Name.Name] = "type"
					r.members(spec.Name.Name, spec.Type)
				}
			case *ast.ValueSpec:
				for _, n := range spec.Names {
					if n.IsExported() {
						r.api[n.Name] = d.Tok.String()
					}
				}
			}
		}
	}
}

// members adds the exported methods of an interface type and the
// exported fields of a struct type.
func (r *reader) members(typ string, t ast.Expr) {
	switch t := t.(type) {
	case *ast.InterfaceType:
		for _, m := range t.Methods.List {
			ft, ok := m.Type.(*ast.FuncType)
			for _, n := range m.Names {
				if ok && n.IsExported() {
					r.api[typ+"."+n.Name] = r.funcShape(ft)
				}
			}
		}
	case *ast.StructType:
		for _, f := range t.Fields.List {
			for _, n := range f.Names {
				if n.IsExported() {
					r.api[typ+"."+n.Name] = r.expr(f.Type)
				}
			}
		}
	}
}

// funcShape is "func(params) (results)", types only.
func (r *reader) funcShape(t *ast.FuncType) string {
	return "func(" + r.types(t.Params) + ") (" + r.types(t.Results) + ")"
}

// types lists a field list's types, one for each name.
func (r *reader) types(fl *ast.FieldList) string {
	if fl == nil {
		return ""
	}
	var parts []string
	for _, f := range fl.List {
		for range max(1, len(f.Names)) {
			parts = append(parts, r.expr(f.Type))
		}
	}
	return strings.Join(parts, ", ")
}

// expr prints an expression as gofmt would.
func (r *reader) expr(e ast.Expr) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, r.fset, e); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return b.String()
}

// ModuleDir returns the directory of module's source in the module cache,
// as the go command reports it for the main module's requirement.
func ModuleDir(module string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m %s: no directory (module not downloaded)", module)
	}
	return dir, nil
}

// Compare returns what of theirs ours lacks, and the names both have
// with different shapes (unless same, when not nil, says that the two
// differ only in spelling one type two ways), each sorted; names excused
// are left out of both.
func Compare(theirs, ours API, excused func(name string) bool, same func(a, b string) bool) (missing, differ []string) {
	for name, shape := range theirs {
		if excused(name) {
			continue
		}
		switch mine, ok := ours[name]; {
		case !ok:
			missing = append(missing, name)
		case mine != shape && (same == nil || !same(shape, mine)):
			differ = append(differ, fmt.Sprintf("%s: %s here, %s there", name, mine, shape))
		}
	}
	slices.Sort(missing)
	slices.Sort(differ)
	return missing, differ
}
