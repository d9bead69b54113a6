// Package e2e is Warren's end-to-end conformance suite: real clients against a real
// broker process. Every expectation was checked against RabbitMQ 3.10 (run the suite
// with AMQP_URL pointing at a RabbitMQ to re-check); where 3.10 differs from the
// reference text (which sometimes describes 4.x) the test says so in a comment.
//
// Broker selection: with AMQP_URL set every test talks to that broker and nothing is
// skipped. Without it the suite builds `warren` once, starts `warren serve` on free
// ports the first time a test needs a broker, and stops it with SIGTERM at the end;
// tests named in pending.txt are skipped (see pending).
package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// warrenStartTimeout bounds how long a started warren may take to accept AMQP.
	warrenStartTimeout = 30 * time.Second
	// warrenStopTimeout bounds a graceful (SIGTERM) stop before we SIGKILL.
	warrenStopTimeout = 30 * time.Second
	// pollInterval is the step of waitFor.
	pollInterval = 10 * time.Millisecond
	// rpcTimeout bounds waits for a single delivery, return, confirm or close.
	rpcTimeout = 5 * time.Second
)

// usingExternalBroker reports whether AMQP_URL names the broker under test (then it
// is normally RabbitMQ and no test is skipped as pending).
func usingExternalBroker() bool { return os.Getenv("AMQP_URL") != "" }

// suite holds the process-wide state: the built binary, the shared warren (started
// lazily so that a fully pending suite never needs a binary), the temp dir.
var suite struct {
	buildOnce sync.Once
	binary    string
	buildErr  error

	startOnce sync.Once
	shared    *warrenProc
	split     *splitDeployment // instead of shared, with E2E_SHAPE=split
	startErr  error

	tmpOnce sync.Once
	tmp     string
	tmpErr  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite.split != nil {
		suite.split.stop()
	}
	if suite.shared != nil {
		if err := suite.shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping shared warren: %v\n", err)
		}
	}
	adminClose()
	if suite.tmp != "" {
		os.RemoveAll(suite.tmp)
	}
	os.Exit(code)
}

func suiteTmp() (string, error) {
	suite.tmpOnce.Do(func() { suite.tmp, suite.tmpErr = os.MkdirTemp("", "warren-e2e-") })
	return suite.tmp, suite.tmpErr
}

// brokerURL returns the AMQP URL of the broker under test, starting the shared warren
// on first use when AMQP_URL is unset.
func brokerURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("AMQP_URL"); u != "" {
		return u
	}
	suite.startOnce.Do(func() {
		tmp, err := suiteTmp()
		if err != nil {
			suite.startErr = err
			return
		}
		if splitShape() {
			suite.split, suite.startErr = launchSplit(filepath.Join(tmp, "split"))
			return
		}
		suite.shared, suite.startErr = launchWarren(filepath.Join(tmp, "data"))
	})
	if suite.startErr != nil {
		t.Fatalf("start shared warren: %v", suite.startErr)
	}
	if suite.split != nil {
		return suite.split.gateways[0]
	}
	return suite.shared.URL()
}

// brokerAddr is host:port of the broker under test, for raw TCP tests.
func brokerAddr(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(brokerURL(t))
	if err != nil {
		t.Fatalf("parse broker URL: %v", err)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5672")
	}
	return u.Host
}

// ---- pending list ----------------------------------------------------------------

var pendingList struct {
	once  sync.Once
	names map[string]bool
	err   error
}

func loadPending() (map[string]bool, error) {
	pendingList.once.Do(func() {
		data, err := os.ReadFile("pending.txt")
		if err != nil {
			pendingList.err = err
			return
		}
		pendingList.names = map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				pendingList.names[line] = true
			}
		}
		pendingList.err = sc.Err()
	})
	return pendingList.names, pendingList.err
}

// pending must be the first call of every test. Against Warren (AMQP_URL unset) it
// skips a test whose name, or the name of one of its parents, is in pending.txt.
// Against an external broker nothing is skipped.
func pending(t *testing.T) {
	t.Helper()
	if usingExternalBroker() {
		return
	}
	names, err := loadPending()
	if err != nil {
		t.Fatalf("read pending.txt: %v", err)
	}
	name := t.Name()
	for {
		if names[name] {
			t.Skip("pending in Warren: not implemented yet")
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return
		}
		name = name[:i]
	}
}

// ---- warren processes --------------------------------------------------------------

// warrenProc is one `warren serve` process that a test owns. Ports stay fixed across
// Restart so that clients can reconnect to the same URL.
type warrenProc struct {
	binary    string
	dataDir   string
	extraArgs []string // more `warren serve` flags
	amqpPort  int
	httpPort  int

	mu       sync.Mutex // guards the fields below
	cmd      *exec.Cmd
	stderr   *lockedBuffer
	exited   chan struct{} // closed when cmd has been waited for
	exitCode int
}

// lockedBuffer collects a process's output; the process writes while tests read.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// buildWarren builds the warren binary once per test run.
func buildWarren() (string, error) {
	suite.buildOnce.Do(func() {
		tmp, err := suiteTmp()
		if err != nil {
			suite.buildErr = err
			return
		}
		root, err := repoRoot()
		if err != nil {
			suite.buildErr = err
			return
		}
		bin := filepath.Join(tmp, "warren")
		// E2E_WARREN_BUILD_FLAGS adds go build flags, e.g. -race to run the
		// whole suite against a race-detecting broker.
		args := append([]string{"build", "-o", bin}, strings.Fields(os.Getenv("E2E_WARREN_BUILD_FLAGS"))...)
		cmd := exec.Command("go", append(args, "github.com/warrenmq/warren/services/cmd/warren")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			suite.buildErr = fmt.Errorf("go build warren: %v\n%s", err, out)
			return
		}
		suite.binary = bin
	})
	return suite.binary, suite.buildErr
}

// repoRoot walks up from the working directory to the folder holding go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launchWarren builds warren and starts it on free ports with dataDir.
func launchWarren(dataDir string, extraArgs ...string) (*warrenProc, error) {
	bin, err := buildWarren()
	if err != nil {
		return nil, err
	}
	w := &warrenProc{binary: bin, dataDir: dataDir, extraArgs: extraArgs}
	if w.amqpPort, err = freePort(); err != nil {
		return nil, err
	}
	if w.httpPort, err = freePort(); err != nil {
		return nil, err
	}
	return w, w.start()
}

// startWarren starts a warren that the test owns (crash and restart tests). It skips
// the test when AMQP_URL is set, since such tests need a process they can kill.
func startWarren(t *testing.T, dataDir string, extraArgs ...string) *warrenProc {
	t.Helper()
	if usingExternalBroker() {
		t.Skip("needs a warren process it owns; AMQP_URL is set")
	}
	w, err := launchWarren(dataDir, extraArgs...)
	if err != nil {
		t.Fatalf("start warren: %v", err)
	}
	t.Cleanup(w.Kill)
	return w
}

func (w *warrenProc) URL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", w.amqpPort)
}

// MetricsURL is the process's Prometheus endpoint.
func (w *warrenProc) MetricsURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", w.httpPort)
}

func (w *warrenProc) addr() string { return fmt.Sprintf("127.0.0.1:%d", w.amqpPort) }

// start launches the process and waits until it accepts AMQP connections; on timeout
// or early exit it kills the process and returns an error carrying its stderr.
func (w *warrenProc) start() error {
	args := append([]string{"serve",
		"--data-dir", w.dataDir,
		"--amqp-addr", w.addr(),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", w.httpPort)}, w.extraArgs...)
	cmd := exec.Command(w.binary, args...)
	stderr := &lockedBuffer{}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", w.binary, err)
	}
	exited := make(chan struct{})
	w.mu.Lock()
	w.cmd, w.stderr, w.exited = cmd, stderr, exited
	w.mu.Unlock()
	go func() {
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		w.mu.Lock()
		w.exitCode = code
		w.mu.Unlock()
		close(exited)
	}()
	return w.awaitAMQP(exited, stderr)
}

func (w *warrenProc) awaitAMQP(exited chan struct{}, stderr *lockedBuffer) error {
	deadline := time.Now().Add(warrenStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("warren exited during startup (code %d); output:\n%s", w.ExitCode(), stderr)
		default:
		}
		c, err := net.DialTimeout("tcp", w.addr(), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.Kill()
	return fmt.Errorf("warren did not accept AMQP on %s within %v; output:\n%s", w.addr(), warrenStartTimeout, stderr)
}

func (w *warrenProc) signal(sig syscall.Signal) (exited chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil || w.cmd.Process == nil {
		return nil
	}
	_ = w.cmd.Process.Signal(sig)
	return w.exited
}

// Kill sends SIGKILL and waits for the process to be gone. Safe to call twice.
func (w *warrenProc) Kill() {
	if exited := w.signal(syscall.SIGKILL); exited != nil {
		<-exited
	}
}

// Stop sends SIGTERM and waits for exit; after warrenStopTimeout it kills the
// process and returns an error.
func (w *warrenProc) Stop() error { return w.stop() }

func (w *warrenProc) stop() error {
	exited := w.signal(syscall.SIGTERM)
	if exited == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	case <-time.After(warrenStopTimeout):
		w.Kill()
		return fmt.Errorf("warren did not exit within %v of SIGTERM; output:\n%s", warrenStopTimeout, w.Output())
	}
}

// Restart starts the process again on the same ports and data folder. The previous
// process must have exited (Kill or Stop).
func (w *warrenProc) Restart() error {
	w.mu.Lock()
	exited := w.exited
	w.mu.Unlock()
	if exited != nil {
		select {
		case <-exited:
		default:
			return errors.New("restart: previous warren still running")
		}
	}
	return w.start()
}

// ExitCode is the exit code of the last process (-1 if killed by a signal).
func (w *warrenProc) ExitCode() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.exitCode
}

// Output is what the current process has written to stdout and stderr.
func (w *warrenProc) Output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stderr == nil {
		return ""
	}
	return w.stderr.String()
}

// ---- clients -----------------------------------------------------------------------

// conns maps every channel opened through these helpers to its connection, so that
// expectChannelClose can check that a soft error left the connection open.
var conns sync.Map // *amqp.Channel -> *amqp.Connection

// dial opens a connection to the broker under test, closed at test cleanup.
// Against the split deployment, successive connections alternate between
// its two gateways, so a test that publishes on one connection and
// consumes on another goes through both.
func dial(t testing.TB) *amqp.Connection {
	t.Helper()
	u := brokerURL(t)
	if suite.split != nil {
		u = suite.split.gateways[dials.Add(1)%uint64(len(suite.split.gateways))]
	}
	return dialURL(t, u)
}

// dials counts connections made by dial, to alternate gateways.
var dials atomic.Uint64

func dialURL(t testing.TB, u string) *amqp.Connection {
	t.Helper()
	conn, err := amqp.Dial(u)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// channel opens a channel on a new connection.
func channel(t testing.TB) *amqp.Channel {
	t.Helper()
	return openChannel(t, dial(t))
}

// openChannel opens a channel on conn.
func openChannel(t testing.TB, conn *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	conns.Store(ch, conn)
	return ch
}

// confirmChannel opens a channel in publisher-confirm mode on a new connection.
func confirmChannel(t testing.TB) *amqp.Channel {
	t.Helper()
	ch := channel(t)
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("confirm.select: %v", err)
	}
	return ch
}

// uniqueName returns a queue or exchange name no other test (or run) uses.
func uniqueName(t testing.TB, prefix string) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random: %v", err)
	}
	test := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("e2e.%s.%s.%s", prefix, test, hex.EncodeToString(b[:]))
}

// ---- cleanup through a shared admin connection -------------------------------------

var admin struct {
	mu   sync.Mutex
	conn *amqp.Connection
}

// adminChannel returns a fresh channel on the shared admin connection, redialling if
// it was closed. Only cleanup code uses it.
func adminChannel(u string) (*amqp.Channel, error) {
	admin.mu.Lock()
	defer admin.mu.Unlock()
	if admin.conn == nil || admin.conn.IsClosed() {
		c, err := amqp.Dial(u)
		if err != nil {
			return nil, err
		}
		admin.conn = c
	}
	return admin.conn.Channel()
}

func adminClose() {
	admin.mu.Lock()
	defer admin.mu.Unlock()
	if admin.conn != nil {
		admin.conn.Close()
	}
}

// cleanupQueue deletes queue name when the test ends (errors ignored: the queue may
// already be gone).
func cleanupQueue(t testing.TB, name string) {
	u := brokerURL(t)
	t.Cleanup(func() {
		if ch, err := adminChannel(u); err == nil {
			ch.QueueDelete(name, false, false, false)
			ch.Close()
		}
	})
}

// cleanupExchange deletes exchange name when the test ends.
func cleanupExchange(t testing.TB, name string) {
	u := brokerURL(t)
	t.Cleanup(func() {
		if ch, err := adminChannel(u); err == nil {
			ch.ExchangeDelete(name, false, false)
			ch.Close()
		}
	})
}

// ---- declare/publish/get helpers ------------------------------------------------------

// declareQueue declares a transient, non-exclusive queue and deletes it at cleanup.
func declareQueue(t testing.TB, ch *amqp.Channel, name string, args amqp.Table) amqp.Queue {
	t.Helper()
	q, err := ch.QueueDeclare(name, false, false, false, false, args)
	if err != nil {
		t.Fatalf("declare queue %s: %v", name, err)
	}
	cleanupQueue(t, q.Name)
	return q
}

// newQueue declares a uniquely named queue (see declareQueue) and returns its name.
func newQueue(t testing.TB, ch *amqp.Channel, args amqp.Table) string {
	t.Helper()
	return declareQueue(t, ch, uniqueName(t, "q"), args).Name
}

// declareExchange declares a transient exchange and deletes it at cleanup.
func declareExchange(t testing.TB, ch *amqp.Channel, name, kind string, args amqp.Table) {
	t.Helper()
	if err := ch.ExchangeDeclare(name, kind, false, false, false, false, args); err != nil {
		t.Fatalf("declare exchange %s (%s): %v", name, kind, err)
	}
	cleanupExchange(t, name)
}

// newExchange declares a uniquely named exchange of kind and returns its name.
func newExchange(t testing.TB, ch *amqp.Channel, kind string, args amqp.Table) string {
	t.Helper()
	name := uniqueName(t, "x")
	declareExchange(t, ch, name, kind, args)
	return name
}

func bindQueue(t testing.TB, ch *amqp.Channel, queue, key, exchange string, args amqp.Table) {
	t.Helper()
	if err := ch.QueueBind(queue, key, exchange, false, args); err != nil {
		t.Fatalf("bind %s to %s with %q: %v", queue, exchange, key, err)
	}
}

// publish publishes without waiting for anything.
func publish(t testing.TB, ch *amqp.Channel, exchange, key string, msg amqp.Publishing) {
	t.Helper()
	if err := ch.Publish(exchange, key, false, false, msg); err != nil {
		t.Fatalf("publish to %q/%q: %v", exchange, key, err)
	}
}

// publishConfirmed publishes on a confirm channel and waits for the broker's ack, so
// the message is in its queues when it returns. It fails the test on a nack.
func publishConfirmed(t testing.TB, ch *amqp.Channel, exchange, key string, msg amqp.Publishing) {
	t.Helper()
	if !publishConfirm(t, ch, exchange, key, false, msg) {
		t.Fatalf("publish to %q/%q: nacked", exchange, key)
	}
}

// publishConfirm publishes on a confirm channel and returns the broker's ack (true)
// or nack (false).
func publishConfirm(t testing.TB, ch *amqp.Channel, exchange, key string, mandatory bool, msg amqp.Publishing) bool {
	t.Helper()
	dc, err := ch.PublishWithDeferredConfirm(exchange, key, mandatory, false, msg)
	if err != nil {
		t.Fatalf("publish to %q/%q: %v", exchange, key, err)
	}
	if dc == nil {
		t.Fatalf("publish to %q/%q: channel is not in confirm mode", exchange, key)
	}
	select {
	case <-dc.Done():
		return dc.Acked()
	case <-time.After(rpcTimeout):
		t.Fatalf("publish to %q/%q: no confirm within %v", exchange, key, rpcTimeout)
		return false
	}
}

// text is a Publishing with body s.
func text(s string) amqp.Publishing { return amqp.Publishing{Body: []byte(s)} }

// publishBodies publishes each body to the default exchange with key queue and waits
// for each confirm (ch must be a confirm channel).
func publishBodies(t testing.TB, ch *amqp.Channel, queue string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		publishConfirmed(t, ch, "", queue, text(b))
	}
}

// getOne performs basic.get and fails if the queue is empty.
func getOne(t testing.TB, ch *amqp.Channel, queue string, autoAck bool) amqp.Delivery {
	t.Helper()
	d, ok, err := ch.Get(queue, autoAck)
	if err != nil {
		t.Fatalf("basic.get %s: %v", queue, err)
	}
	if !ok {
		t.Fatalf("basic.get %s: queue empty", queue)
	}
	return d
}

// expectEmpty fails unless basic.get on queue returns get-empty.
func expectEmpty(t testing.TB, ch *amqp.Channel, queue string) {
	t.Helper()
	d, ok, err := ch.Get(queue, true)
	if err != nil {
		t.Fatalf("basic.get %s: %v", queue, err)
	}
	if ok {
		t.Fatalf("basic.get %s: want get-empty, got %q", queue, d.Body)
	}
}

// drainBodies takes every message from queue with basic.get (auto-ack) and returns
// the bodies in order. Bounded by maxMessages.
func drainBodies(t testing.TB, ch *amqp.Channel, queue string) []string {
	t.Helper()
	const maxMessages = 10000
	var out []string
	for range maxMessages {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("basic.get %s: %v", queue, err)
		}
		if !ok {
			return out
		}
		out = append(out, string(d.Body))
	}
	t.Fatalf("drain %s: more than %d messages", queue, maxMessages)
	return nil
}

// messageCount is the ready-message count from a passive queue.declare.
func messageCount(t testing.TB, ch *amqp.Channel, queue string) int {
	t.Helper()
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err != nil {
		t.Fatalf("passive declare %s: %v", queue, err)
	}
	return q.Messages
}

// waitCount polls until queue holds want ready messages.
func waitCount(t testing.TB, ch *amqp.Channel, queue string, want int) {
	t.Helper()
	var got int
	waitFor(t, func() bool { got = messageCount(t, ch, queue); return got == want }, rpcTimeout,
		"queue %s to hold %d messages (last count %d)", queue, want, &got)
}

// consume starts a consumer and fails the test on error.
func consume(t testing.TB, ch *amqp.Channel, queue, tag string, autoAck bool, args amqp.Table) <-chan amqp.Delivery {
	t.Helper()
	ds, err := ch.Consume(queue, tag, autoAck, false, false, false, args)
	if err != nil {
		t.Fatalf("consume %s: %v", queue, err)
	}
	return ds
}

// recv waits for one delivery.
func recv(t testing.TB, ds <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case d, ok := <-ds:
		if !ok {
			t.Fatalf("delivery channel closed")
		}
		return d
	case <-time.After(rpcTimeout):
		t.Fatalf("no delivery within %v", rpcTimeout)
	}
	return amqp.Delivery{}
}

// recvBodies waits for n deliveries and returns their bodies.
func recvBodies(t testing.TB, ds <-chan amqp.Delivery, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		out = append(out, string(recv(t, ds).Body))
	}
	return out
}

// quietPeriod is how long a test waits to show that something does not happen.
const quietPeriod = 300 * time.Millisecond

// expectNoDelivery fails if a delivery arrives within quietPeriod.
func expectNoDelivery(t testing.TB, ds <-chan amqp.Delivery) {
	t.Helper()
	select {
	case d, ok := <-ds:
		if ok {
			t.Fatalf("unexpected delivery %q", d.Body)
		}
	case <-time.After(quietPeriod):
	}
}

// ---- errors ------------------------------------------------------------------------

// asAMQPError asserts err is a broker-sent *amqp.Error with code.
func asAMQPError(t testing.TB, err error, code int) *amqp.Error {
	t.Helper()
	var e *amqp.Error
	if !errors.As(err, &e) {
		t.Fatalf("want AMQP error %d, got %v (%T)", code, err, err)
	}
	if e.Code != code || !e.Server {
		t.Fatalf("want server error %d, got %d %q (server=%v)", code, e.Code, e.Reason, e.Server)
	}
	return e
}

// expectChannelClose asserts err is the channel.close with code that the broker sent
// and that the channel's connection stayed open (soft error).
func expectChannelClose(t testing.TB, ch *amqp.Channel, err error, code int) *amqp.Error {
	t.Helper()
	e := asAMQPError(t, err, code)
	waitFor(t, ch.IsClosed, rpcTimeout, "channel to be closed after %d", code)
	if c, ok := conns.Load(ch); ok {
		// Give a wrongly sent connection.close a moment to arrive.
		time.Sleep(20 * time.Millisecond)
		if c.(*amqp.Connection).IsClosed() {
			t.Fatalf("error %d closed the connection; want only the channel closed", code)
		}
	}
	return e
}

// expectConnClose asserts err is the connection.close with code that the broker sent
// and that conn is closed (hard error).
func expectConnClose(t testing.TB, conn *amqp.Connection, err error, code int) *amqp.Error {
	t.Helper()
	e := asAMQPError(t, err, code)
	waitFor(t, conn.IsClosed, rpcTimeout, "connection to be closed after %d", code)
	return e
}

// watchClose registers for a channel's close before the action that provokes it
// (for asynchronous methods such as basic.publish and basic.ack).
func watchClose(ch *amqp.Channel) <-chan *amqp.Error {
	return ch.NotifyClose(make(chan *amqp.Error, 1))
}

// watchConnClose registers for a connection's close.
func watchConnClose(conn *amqp.Connection) <-chan *amqp.Error {
	return conn.NotifyClose(make(chan *amqp.Error, 1))
}

// awaitClose waits for a close registered with watchClose or watchConnClose.
func awaitClose(t testing.TB, c <-chan *amqp.Error) error {
	t.Helper()
	select {
	case e, ok := <-c:
		if !ok || e == nil {
			t.Fatalf("closed without an error")
		}
		return e
	case <-time.After(rpcTimeout):
		t.Fatalf("no close within %v", rpcTimeout)
	}
	return nil
}

// expectText asserts the reply text of a broker error.
func expectText(t testing.TB, e *amqp.Error, want string) {
	t.Helper()
	if e.Reason != want {
		t.Fatalf("reply text:\n got %q\nwant %q", e.Reason, want)
	}
}

// expectTextPrefix asserts the start of a broker error's reply text, for texts whose
// tail is RabbitMQ's rendering of Erlang terms.
func expectTextPrefix(t testing.TB, e *amqp.Error, prefix string) {
	t.Helper()
	if !strings.HasPrefix(e.Reason, prefix) {
		t.Fatalf("reply text:\n got %q\nwant prefix %q", e.Reason, prefix)
	}
}

// ---- polling -----------------------------------------------------------------------

// waitFor polls cond every pollInterval until it returns true, failing the test
// after timeout. what (a format with args; pointer args are dereferenced at failure
// time) says what was awaited.
func waitFor(t testing.TB, cond func() bool, timeout time.Duration, what ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, describe(what))
		}
		time.Sleep(pollInterval)
	}
}

func describe(what []any) string {
	if len(what) == 0 {
		return "condition"
	}
	format, _ := what[0].(string)
	args := make([]any, 0, len(what)-1)
	for _, a := range what[1:] {
		if p, ok := a.(*int); ok {
			a = *p
		}
		args = append(args, a)
	}
	return fmt.Sprintf(format, args...)
}
