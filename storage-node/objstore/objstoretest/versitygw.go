package objstoretest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// S3Server is a running S3-compatible server for tests.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Dir       string // the posix backend's root: one directory per bucket

	t      *testing.T
	bin    string
	addr   string
	out    syncBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// versityStartTimeout bounds the wait for versitygw to accept connections
// (it starts in about 60 ms).
const versityStartTimeout = 10 * time.Second

// StartVersityGW starts a versitygw server with the posix backend on a
// free loopback port and stops it when the test ends. Without the binary
// (on PATH or in $(go env GOPATH)/bin) the test is skipped, unless the CI
// environment variable is set: CI must test against a real S3 server, so
// there the test fails.
func StartVersityGW(t *testing.T) *S3Server {
	t.Helper()
	bin := findVersityGW()
	if bin == "" {
		const msg = "versitygw not found on PATH or in $(go env GOPATH)/bin; " +
			"install: go install github.com/versity/versitygw/cmd/versitygw@latest"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: a real S3 server is required)")
		}
		t.Skip(msg)
	}
	srv := &S3Server{AccessKey: "warrentest", SecretKey: "warrentestsecret", Dir: t.TempDir(),
		t: t, bin: bin, addr: freePort(t)}
	srv.Endpoint = "http://" + srv.addr
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("versitygw output:\n%s", srv.out.String())
		}
	})
	srv.Start()
	return srv
}

// Start runs the server (again, after Stop) on its address and folder, so
// a store outage can end with the same endpoint and the same objects.
func (s *S3Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("versitygw: Start while running")
	}
	cmd := exec.Command(s.bin, "--access", s.AccessKey, "--secret", s.SecretKey,
		"--port", s.addr, "posix", s.Dir)
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := waitListening(s.addr, exited); err != nil {
		s.t.Fatalf("versitygw on %s: %v\n%s", s.addr, err, s.out.String())
	}
}

// Stop kills the server, as an outage would; Start brings it back.
func (s *S3Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

func findVersityGW() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for dir := range strings.SplitSeq(strings.TrimSpace(string(gopath)), string(os.PathListSeparator)) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(versityStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited at start")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not listening after %v", versityStartTimeout)
}

// syncBuffer collects a process's output, written from exec's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
