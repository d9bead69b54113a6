// Package script runs data-driven tests: files in testdata/ hold commands,
// one per line, each followed by "----" and the output it must print (up to
// a blank line). A test prints the whole trace of what the code did, so a
// change in behaviour shows as a diff. Run with -rewrite to regenerate the
// expected outputs after checking that the new trace is right.
package script

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of script tests")

// Cmd is one command line: a name and key[=value[,value]] arguments.
type Cmd struct {
	Pos  string // file:line
	Line string
	Name string
	Args []Arg
}

// Arg is one argument; Vals is empty for a bare flag.
type Arg struct {
	Key  string
	Vals []string
}

// Has reports whether the argument key is present.
func (c *Cmd) Has(key string) bool {
	_, ok := c.arg(key)
	return ok
}

func (c *Cmd) arg(key string) (Arg, bool) {
	for _, a := range c.Args {
		if a.Key == key {
			return a, true
		}
	}
	return Arg{}, false
}

// Str is the first value of key, or def.
func (c *Cmd) Str(key, def string) string {
	if a, ok := c.arg(key); ok && len(a.Vals) > 0 {
		return a.Vals[0]
	}
	return def
}

// Int is the first value of key as an integer, or def.
func (c *Cmd) Int(t testing.TB, key string, def int64) int64 {
	a, ok := c.arg(key)
	if !ok || len(a.Vals) == 0 {
		return def
	}
	v, err := strconv.ParseInt(a.Vals[0], 10, 64)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", c.Pos, key, a.Vals[0], err)
	}
	return v
}

// Ints are the values of key as integers.
func (c *Cmd) Ints(t testing.TB, key string) []int64 {
	a, _ := c.arg(key)
	out := make([]int64, 0, len(a.Vals))
	for _, s := range a.Vals {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %s=%q: %v", c.Pos, key, s, err)
		}
		out = append(out, v)
	}
	return out
}

type testCase struct {
	cmd      Cmd
	expected string
	comments []string // lines before the command
}

// Run runs every file matching pattern; run executes a command and returns
// its output. A fresh state per file is the caller's business (run gets
// the file name through Cmd.Pos).
func Run(t *testing.T, pattern string, run func(t *testing.T, c *Cmd) string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no script files match %s (%v)", pattern, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runFile(t, f, run) })
	}
}

func runFile(t *testing.T, path string, run func(t *testing.T, c *Cmd) string) {
	cases, trailer := parse(t, path)
	var out strings.Builder
	for i := range cases {
		tc := &cases[i]
		got := strings.TrimRight(run(t, &tc.cmd), "\n")
		if strings.Contains(got, "\n\n") {
			t.Fatalf("%s: output contains a blank line", tc.cmd.Pos)
		}
		if !*rewrite && got != tc.expected {
			t.Errorf("%s: %s\nwant:\n%s\ngot:\n%s", tc.cmd.Pos, tc.cmd.Line, tc.expected, got)
		}
		tc.expected = got
		write(&out, tc)
	}
	for _, l := range trailer {
		out.WriteString(l + "\n")
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func write(out *strings.Builder, tc *testCase) {
	for _, l := range tc.comments {
		out.WriteString(l + "\n")
	}
	out.WriteString(tc.cmd.Line + "\n----\n")
	if tc.expected != "" {
		out.WriteString(tc.expected + "\n")
	}
	out.WriteString("\n")
}

// parse reads the cases of a file; trailer is comment lines after the last.
func parse(t *testing.T, path string) (cases []testCase, trailer []string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	var pending []string
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			if trimmed != "" {
				pending = append(pending, text)
			}
			continue
		}
		tc := testCase{cmd: parseCmd(t, fmt.Sprintf("%s:%d", path, line), trimmed), comments: pending}
		pending = nil
		if !sc.Scan() || sc.Text() != "----" {
			t.Fatalf("%s:%d: expected ---- after command", path, line)
		}
		line++
		var exp []string
		for sc.Scan() {
			line++
			if sc.Text() == "" {
				break
			}
			exp = append(exp, sc.Text())
		}
		tc.expected = strings.Join(exp, "\n")
		cases = append(cases, tc)
	}
	return cases, pending
}

func parseCmd(t *testing.T, pos, line string) Cmd {
	fields := strings.Fields(line)
	c := Cmd{Pos: pos, Line: line, Name: fields[0]}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		a := Arg{Key: k}
		if ok {
			a.Vals = strings.Split(v, ",")
		}
		c.Args = append(c.Args, a)
	}
	if c.Name == "" {
		t.Fatalf("%s: empty command", pos)
	}
	return c
}
