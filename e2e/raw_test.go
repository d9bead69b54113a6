package e2e

// A minimal hand-rolled AMQP 0-9-1 client for tests that must send what no real
// client sends (bad headers, bad frames, out-of-order frames, silent heartbeats) or
// must see exactly what the broker sent (connection.tune values, multiple acks).

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"testing"
	"time"
)

const (
	frameMethod    = 1
	frameHeader    = 2
	frameBody      = 3
	frameHeartbeat = 8
	frameEnd       = 0xCE

	// rawMaxFrame bounds what the raw reader accepts, so a broken broker cannot make
	// the test allocate without limit.
	rawMaxFrame = 1 << 20
)

// Class and method ids used by the raw tests (amqp0-9-1.xml).
const (
	classConnection = 10
	classChannel    = 20
	classQueue      = 50
	classBasic      = 60
	classConfirm    = 85
)

var protocolHeader = []byte("AMQP\x00\x00\x09\x01")

type rawFrame struct {
	typ     byte
	channel uint16
	payload []byte
}

// classMethod returns the class and method ids of a method frame.
func (f rawFrame) classMethod() (uint16, uint16) {
	if f.typ != frameMethod || len(f.payload) < 4 {
		return 0, 0
	}
	return binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])
}

func (f rawFrame) is(class, method uint16) bool {
	c, m := f.classMethod()
	return c == class && m == method
}

func (f rawFrame) String() string {
	if f.typ == frameMethod {
		c, m := f.classMethod()
		return fmt.Sprintf("method %d.%d on channel %d", c, m, f.channel)
	}
	return fmt.Sprintf("frame type %d on channel %d (%d bytes)", f.typ, f.channel, len(f.payload))
}

// rawConn is one TCP connection driven frame by frame.
type rawConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader

	tune tuneArgs // connection.tune as received
}

type tuneArgs struct {
	channelMax uint16
	frameMax   uint32
	heartbeat  uint16
}

// rawOptions are the values the raw client sends in the handshake. Zero values take
// the server's proposal.
type rawOptions struct {
	user, password string
	vhost          string
	channelMax     uint16
	frameMax       uint32
	heartbeat      uint16 // 0: no heartbeats, so raw tests are never cut off
}

func dialRaw(t testing.TB) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", brokerAddr(t), rpcTimeout)
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

// rawHandshake dials and opens a connection as guest/guest on vhost "/".
func rawHandshake(t testing.TB) *rawConn {
	t.Helper()
	rc := dialRaw(t)
	rc.handshake(rawOptions{})
	return rc
}

func (rc *rawConn) write(b []byte) {
	rc.t.Helper()
	rc.c.SetWriteDeadline(time.Now().Add(rpcTimeout))
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("raw write: %v", err)
	}
}

func encodeFrame(typ byte, channel uint16, payload []byte) []byte {
	b := make([]byte, 0, 8+len(payload))
	b = append(b, typ)
	b = binary.BigEndian.AppendUint16(b, channel)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return append(b, frameEnd)
}

func (rc *rawConn) writeFrame(typ byte, channel uint16, payload []byte) {
	rc.t.Helper()
	rc.write(encodeFrame(typ, channel, payload))
}

// sendMethod writes a method frame: class, method, then the encoded arguments.
func (rc *rawConn) sendMethod(channel, class, method uint16, args []byte) {
	rc.t.Helper()
	rc.writeFrame(frameMethod, channel, methodPayload(class, method, args))
}

func methodPayload(class, method uint16, args []byte) []byte {
	p := binary.BigEndian.AppendUint16(nil, class)
	p = binary.BigEndian.AppendUint16(p, method)
	return append(p, args...)
}

// readFrame reads one frame, with a deadline of timeout.
func (rc *rawConn) readFrame(timeout time.Duration) (rawFrame, error) {
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	var h [7]byte
	if _, err := io.ReadFull(rc.r, h[:]); err != nil {
		return rawFrame{}, err
	}
	size := binary.BigEndian.Uint32(h[3:])
	if size > rawMaxFrame {
		return rawFrame{}, fmt.Errorf("frame of %d bytes exceeds raw client limit", size)
	}
	buf := make([]byte, size+1)
	if _, err := io.ReadFull(rc.r, buf); err != nil {
		return rawFrame{}, err
	}
	if buf[size] != frameEnd {
		return rawFrame{}, fmt.Errorf("bad frame end %#x", buf[size])
	}
	return rawFrame{typ: h[0], channel: binary.BigEndian.Uint16(h[1:]), payload: buf[:size]}, nil
}

// expectMethod reads frames (skipping heartbeats) until one arrives and fails unless
// it is class.method on channel.
func (rc *rawConn) expectMethod(channel, class, method uint16) rawFrame {
	rc.t.Helper()
	f := rc.nextNonHeartbeat()
	if !f.is(class, method) || f.channel != channel {
		if f.is(classConnection, 50) {
			code, text := decodeClose(f.payload)
			rc.t.Fatalf("want method %d.%d on channel %d, got connection.close %d %q", class, method, channel, code, text)
		}
		rc.t.Fatalf("want method %d.%d on channel %d, got %v", class, method, channel, f)
	}
	return f
}

func (rc *rawConn) nextNonHeartbeat() rawFrame {
	rc.t.Helper()
	for range 100 {
		f, err := rc.readFrame(rpcTimeout)
		if err != nil {
			rc.t.Fatalf("raw read: %v", err)
		}
		if f.typ != frameHeartbeat {
			return f
		}
	}
	rc.t.Fatalf("raw read: only heartbeats")
	return rawFrame{}
}

// handshake performs the protocol header, PLAIN login and connection.open.
func (rc *rawConn) handshake(o rawOptions) {
	rc.t.Helper()
	rc.write(protocolHeader)
	rc.expectMethod(0, classConnection, 10)
	rc.sendStartOK("PLAIN", plainResponse(o))
	rc.tune = decodeTune(rc.expectMethod(0, classConnection, 30).payload)
	rc.sendTuneOK(o)
	vhost := o.vhost
	if vhost == "" {
		vhost = "/"
	}
	rc.sendMethod(0, classConnection, 40, new(wbuf).shortstr(vhost).shortstr("").octet(0).bytes())
	rc.expectMethod(0, classConnection, 41)
}

func plainResponse(o rawOptions) string {
	user, pass := o.user, o.password
	if user == "" {
		user, pass = "guest", "guest"
	}
	return "\x00" + user + "\x00" + pass
}

// sendStartOK sends connection.start-ok advertising the capabilities a modern client
// does, including authentication_failure_close.
func (rc *rawConn) sendStartOK(mechanism, response string) {
	rc.t.Helper()
	props := map[string]any{
		"product": "warren-e2e-raw",
		"capabilities": map[string]any{
			"authentication_failure_close": true,
			"basic.nack":                   true,
			"consumer_cancel_notify":       true,
			"connection.blocked":           true,
			"publisher_confirms":           true,
		},
	}
	args := new(wbuf).table(props).shortstr(mechanism).longstr(response).shortstr("en_US").bytes()
	rc.sendMethod(0, classConnection, 11, args)
}

func (rc *rawConn) sendTuneOK(o rawOptions) {
	rc.t.Helper()
	chMax, fMax := o.channelMax, o.frameMax
	if chMax == 0 {
		chMax = rc.tune.channelMax
	}
	if fMax == 0 {
		fMax = rc.tune.frameMax
	}
	rc.sendMethod(0, classConnection, 31, new(wbuf).short(chMax).long(fMax).short(o.heartbeat).bytes())
}

func decodeTune(p []byte) tuneArgs {
	p = p[4:]
	return tuneArgs{
		channelMax: binary.BigEndian.Uint16(p),
		frameMax:   binary.BigEndian.Uint32(p[2:]),
		heartbeat:  binary.BigEndian.Uint16(p[6:]),
	}
}

// decodeStart decodes connection.start: version, server properties (raw table bytes
// are skipped), mechanisms and locales.
func decodeStart(p []byte) (major, minor byte, mechanisms, locales string) {
	r := rbuf{b: p[4:]}
	major, minor = r.octet(), r.octet()
	r.skip(int(r.long())) // server-properties table
	return major, minor, r.longstr(), r.longstr()
}

// openChannel opens channel id.
func (rc *rawConn) openChannel(id uint16) {
	rc.t.Helper()
	rc.sendMethod(id, classChannel, 10, new(wbuf).shortstr("").bytes())
	rc.expectMethod(id, classChannel, 11)
}

// decodeClose returns reply-code and reply-text of connection.close/channel.close.
func decodeClose(p []byte) (uint16, string) {
	r := rbuf{b: p[4:]}
	return r.short(), r.shortstr()
}

// closeResult is what readUntilClose saw.
type closeResult struct {
	code   uint16
	text   string
	class  uint16 // class-id of the failing method
	method uint16
	eof    bool // the socket closed without a connection.close
}

// readUntilConnClose reads until connection.close arrives (answering close-ok and
// then expecting the socket to close) or the socket closes. Bounded by timeout.
func (rc *rawConn) readUntilConnClose(timeout time.Duration) closeResult {
	rc.t.Helper()
	deadline := time.Now().Add(timeout)
	for range 10000 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		f, err := rc.readFrame(left)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return closeResult{eof: true}
		}
		if err != nil {
			rc.t.Fatalf("raw read while waiting for connection.close: %v", err)
		}
		if f.is(classConnection, 50) && f.channel == 0 {
			r := rbuf{b: f.payload[4:]}
			res := closeResult{code: r.short(), text: r.shortstr(), class: r.short(), method: r.short()}
			rc.sendMethod(0, classConnection, 51, nil)
			return res
		}
	}
	rc.t.Fatalf("no connection.close within %v", timeout)
	return closeResult{}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// expectConnectionClose waits for connection.close with code and returns its text.
func (rc *rawConn) expectConnectionClose(code uint16) string {
	rc.t.Helper()
	res := rc.readUntilConnClose(rpcTimeout)
	if res.eof {
		rc.t.Fatalf("socket closed without connection.close; want %d", code)
	}
	if res.code != code {
		rc.t.Fatalf("connection.close code %d %q; want %d", res.code, res.text, code)
	}
	rc.expectEOF(rpcTimeout)
	return res.text
}

// expectEOF asserts the broker closes the socket within timeout.
func (rc *rawConn) expectEOF(timeout time.Duration) {
	rc.t.Helper()
	deadline := time.Now().Add(timeout)
	for range 10000 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		_, err := rc.readFrame(left)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break
		}
		return
	}
	rc.t.Fatalf("socket still open %v after close", timeout)
}

// ---- encoding ----------------------------------------------------------------------

// wbuf builds method arguments in AMQP wire encoding.
type wbuf struct{ b bytes.Buffer }

func (w *wbuf) bytes() []byte        { return w.b.Bytes() }
func (w *wbuf) octet(v byte) *wbuf   { w.b.WriteByte(v); return w }
func (w *wbuf) short(v uint16) *wbuf { w.b.Write(binary.BigEndian.AppendUint16(nil, v)); return w }
func (w *wbuf) long(v uint32) *wbuf  { w.b.Write(binary.BigEndian.AppendUint32(nil, v)); return w }
func (w *wbuf) longlong(v uint64) *wbuf {
	w.b.Write(binary.BigEndian.AppendUint64(nil, v))
	return w
}

func (w *wbuf) shortstr(s string) *wbuf {
	w.b.WriteByte(byte(len(s)))
	w.b.WriteString(s)
	return w
}

func (w *wbuf) longstr(s string) *wbuf {
	w.long(uint32(len(s)))
	w.b.WriteString(s)
	return w
}

// table encodes a field table with bool, string and nested-table values, keys sorted.
func (w *wbuf) table(m map[string]any) *wbuf {
	var inner wbuf
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		inner.shortstr(k)
		switch v := m[k].(type) {
		case bool:
			b := byte(0)
			if v {
				b = 1
			}
			inner.octet('t').octet(b)
		case string:
			inner.octet('S').longstr(v)
		case map[string]any:
			inner.octet('F').table(v)
		default:
			panic(fmt.Sprintf("raw table: unsupported %T", v))
		}
	}
	w.long(uint32(inner.b.Len()))
	w.b.Write(inner.b.Bytes())
	return w
}

// rbuf decodes method arguments; it panics on short input, which a test reports.
type rbuf struct{ b []byte }

func (r *rbuf) octet() byte { v := r.b[0]; r.b = r.b[1:]; return v }
func (r *rbuf) short() uint16 {
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}
func (r *rbuf) long() uint32 {
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}
func (r *rbuf) longlong() uint64 {
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}
func (r *rbuf) skip(n int) { r.b = r.b[n:] }
func (r *rbuf) shortstr() string {
	n := int(r.octet())
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
func (r *rbuf) longstr() string {
	n := int(r.long())
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// queueDeclareArgs encodes queue.declare (passive or not, exclusive, no args).
func queueDeclareArgs(name string, passive bool) []byte {
	bits := byte(0x04) // exclusive
	if passive {
		bits |= 0x01
	}
	return new(wbuf).short(0).shortstr(name).octet(bits).table(nil).bytes()
}

// ---- content ---------------------------------------------------------------------

// basicPublishArgs encodes basic.publish arguments.
func basicPublishArgs(exchange, key string, mandatory, immediate bool) []byte {
	var bits byte
	if mandatory {
		bits |= 1
	}
	if immediate {
		bits |= 2
	}
	return new(wbuf).short(0).shortstr(exchange).shortstr(key).octet(bits).bytes()
}

// contentHeader encodes a basic content header with no properties.
func contentHeader(bodySize uint64) []byte {
	return new(wbuf).short(classBasic).short(0).longlong(bodySize).short(0).bytes()
}
