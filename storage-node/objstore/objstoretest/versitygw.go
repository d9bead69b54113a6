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
	srv := &S3Server{AccessKey: "warrentest", SecretKey: "warrentestsecret", Dir: t.TempDir()}
	port := freePort(t)
	srv.Endpoint = "http://" + port
	cmd := exec.Command(bin, "--access", srv.AccessKey, "--secret", srv.SecretKey,
		"--port", port, "posix", srv.Dir)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("versitygw output:\n%s", out.String())
		}
	})
	if err := waitListening(port, exited); err != nil {
		t.Fatalf("versitygw on %s: %v\n%s", port, err, out.String())
	}
	return srv
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
