package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestSuiteShape needs no broker. It keeps the suite honest: every test calls
// pending(t) first, and every name in pending.txt is a test (or a subtest of one)
// that exists, so a typo cannot silently un-skip or keep skipping a test.
func TestSuiteShape(t *testing.T) {
	pending(t)
	tests := suiteTests(t)
	for name, first := range tests {
		if first != "pending" {
			t.Errorf("%s: first statement must be pending(t)", name)
		}
	}
	names, err := loadPending()
	if err != nil {
		t.Fatalf("read pending.txt: %v", err)
	}
	var unknown []string
	for name := range names {
		top, _, _ := strings.Cut(name, "/")
		if _, ok := tests[top]; !ok {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("pending.txt names tests that do not exist: %v", unknown)
	}
}

// suiteTests maps each top-level Test function of the package to the name of the
// function its first statement calls ("" if none).
func suiteTests(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" {
				continue
			}
			out[fn.Name.Name] = firstCall(fn)
		}
	}
	return out
}

func firstCall(fn *ast.FuncDecl) string {
	if fn.Body == nil || len(fn.Body.List) == 0 {
		return ""
	}
	stmt, ok := fn.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return ""
	}
	call, ok := stmt.X.(*ast.CallExpr)
	if !ok {
		return ""
	}
	if id, ok := call.Fun.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
