// Package apisurface lists the exported names of a Go package from its
// source, so that a test can check that an API shim (compat/zmq4,
// compat/mangos) has every name of the module it stands in for.
package apisurface

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Exported returns the exported names declared in the non-test Go files
// of dir: functions, types, variables and constants by name; methods of
// exported types, the methods of exported interfaces and the fields of
// exported structs as "Type.Name" (embedded ones are not followed). Files built only for other systems
// count too (build constraints are not read): a shim must compile
// wherever the original does.
func Exported(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	names := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			addDecl(names, d)
		}
	}
	return names, nil
}

func addDecl(names map[string]bool, d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return
		}
		if d.Recv == nil {
			names[d.Name.Name] = true
			return
		}
		recv := d.Recv.List[0].Type
		if star, ok := recv.(*ast.StarExpr); ok {
			recv = star.X
		}
		if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
			names[id.Name+"."+d.Name.Name] = true
		}
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch spec := spec.(type) {
			case *ast.TypeSpec:
				if spec.Name.IsExported() {
					names[spec.Name.Name] = true
					addMembers(names, spec.Name.Name, spec.Type)
				}
			case *ast.ValueSpec:
				for _, n := range spec.Names {
					if n.IsExported() {
						names[n.Name] = true
					}
				}
			}
		}
	}
}

// addMembers adds the exported methods of an interface type and the
// exported fields of a struct type, as "Type.Name".
func addMembers(names map[string]bool, typ string, t ast.Expr) {
	var fields *ast.FieldList
	switch t := t.(type) {
	case *ast.InterfaceType:
		fields = t.Methods
	case *ast.StructType:
		fields = t.Fields
	default:
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			if n.IsExported() {
				names[typ+"."+n.Name] = true
			}
		}
	}
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

// Missing returns the names of theirs that ours lacks and that are not
// excused, sorted.
func Missing(theirs, ours map[string]bool, excused func(name string) bool) []string {
	var out []string
	for name := range theirs {
		if !ours[name] && !excused(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
