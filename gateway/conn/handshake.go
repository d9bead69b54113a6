package conn

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/gateway/auth"
	"github.com/warrenmq/warren/gateway/wire"
)

var (
	protocolHeader = []byte("AMQP\x00\x00\x09\x01")
	// RabbitMQ also takes the 0-9 header as 0-9-1 (rabbit_reader version_negotiation).
	protocolHeader09 = []byte("AMQP\x01\x01\x00\x09")
)

// errRefused ends a handshake after the refusal has been written.
var errRefused = errors.New("connection refused during handshake")

// handshake runs protocol negotiation, authentication, tuning and
// connection.open, all within the handshake timeout.
func (c *Conn) handshake() error {
	_ = c.nc.SetDeadline(time.Now().Add(DefaultHandshake))
	defer func() { _ = c.nc.SetDeadline(time.Time{}) }()
	if err := c.negotiateProtocol(); err != nil {
		return err
	}
	if err := c.authenticate(); err != nil {
		return err
	}
	if err := c.tune(); err != nil {
		return err
	}
	return c.open()
}

// negotiateProtocol reads the protocol header; a wrong one is answered with
// the header Warren speaks, and the connection closes.
func (c *Conn) negotiateProtocol() error {
	h, err := c.r.ReadProtocolHeader()
	if err != nil {
		return err
	}
	if bytes.Equal(h[:], protocolHeader) || bytes.Equal(h[:], protocolHeader09) {
		return nil
	}
	_, _ = c.nc.Write(protocolHeader) // nothing else has been written yet
	return errRefused
}

// serverProperties is connection.start's table, with RabbitMQ's capabilities
// exactly (rabbit_reader:server_capabilities/1).
func (c *Conn) serverProperties() amqp.Table {
	caps := amqp.Table{}
	for _, k := range []string{
		"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "connection.blocked", "consumer_priorities",
		"authentication_failure_close", "per_consumer_qos", "direct_reply_to",
	} {
		caps[k] = true
	}
	return amqp.Table{
		"product":      c.cfg.Product,
		"version":      c.cfg.Version,
		"platform":     "Go",
		"cluster_name": "warren",
		"copyright":    "Warren authors",
		"information":  "Warren: an AMQP 0-9-1 broker that speaks RabbitMQ",
		"capabilities": caps,
	}
}

func (c *Conn) authenticate() error {
	err := c.out.method(0, &wire.ConnectionStart{
		VersionMajor: 0, VersionMinor: 9,
		ServerProperties: c.serverProperties(),
		Mechanisms:       "AMQPLAIN PLAIN", Locales: "en_US", // RabbitMQ 3.10's order
	})
	if err != nil {
		return err
	}
	var ok *wire.ConnectionStartOk
	if err := expectMethod(c, &ok); err != nil {
		return err
	}
	c.clientCaps, _ = ok.ClientProperties["capabilities"].(amqp.Table)
	user, pass, err := credentials(ok.Mechanism, ok.Response)
	if err != nil {
		return err
	}
	login, err := c.cfg.Auth.Authenticate(auth.Attempt{
		Name: user, Password: pass, Remote: c.nc.RemoteAddr(), ServerName: serverName(c.nc),
	})
	if err != nil {
		c.cfg.Log.Info("login refused", "user", user, "remote", c.nc.RemoteAddr(), "why", err)
		return c.refuseLogin(ok.Mechanism)
	}
	c.inst, c.user, c.loginName = login.Instance, login.User, user
	c.quotas = c.instanceQuotas()
	return nil
}

// serverName is the TLS SNI host the client asked for; "" without TLS. The
// TLS handshake is over: it ran with the first read, the protocol header.
func serverName(nc net.Conn) string {
	if tc, ok := nc.(*tls.Conn); ok {
		return tc.ConnectionState().ServerName
	}
	return ""
}

// instanceQuotas are the quotas of the connection's instance, as its record
// is now; none when the record is gone (the login would have failed).
func (c *Conn) instanceQuotas() topology.Quotas {
	i, _ := c.cfg.Mirror.Instance(c.inst)
	return i.Quotas
}

// credentials decodes a SASL response: PLAIN is "\0user\0pass"; AMQPLAIN is
// a field table without its length prefix holding LOGIN and PASSWORD.
func credentials(mechanism, response string) (string, string, error) {
	switch mechanism {
	case "PLAIN":
		parts := strings.SplitN(response, "\x00", 3)
		if len(parts) != 3 {
			return "", "", reply.Errorf(reply.SyntaxError, "malformed PLAIN response")
		}
		return parts[1], parts[2], nil
	case "AMQPLAIN":
		b := binary.BigEndian.AppendUint32(nil, uint32(len(response)))
		t, _, err := amqp.ReadTable(append(b, response...))
		if err != nil {
			return "", "", reply.Errorf(reply.SyntaxError, "malformed AMQPLAIN response")
		}
		user, _ := t["LOGIN"].(string)
		pass, _ := t["PASSWORD"].(string)
		return user, pass, nil
	}
	// RabbitMQ 3.10 drops the socket without connection.close here.
	return "", "", fmt.Errorf("unknown authentication mechanism %q: %w", mechanism, errRefused)
}

// refuseLogin answers a failed login as RabbitMQ does: connection.close 403
// when the client asked for authentication_failure_close, else a bare close.
func (c *Conn) refuseLogin(mechanism string) error {
	if capable, _ := c.clientCaps["authentication_failure_close"].(bool); capable {
		e := reply.Errorf(reply.AccessRefused,
			"Login was refused using authentication mechanism %s. For details see the broker logfile.", mechanism)
		_ = c.out.method(0, &wire.ConnectionClose{ReplyCode: e.Code, ReplyText: e.ReplyText()})
	}
	return errRefused
}

func (c *Conn) tune() error {
	chMax := c.channelMaxOffered()
	err := c.out.method(0, &wire.ConnectionTune{
		ChannelMax: chMax, FrameMax: c.cfg.FrameMax,
		Heartbeat: uint16(c.cfg.Heartbeat / time.Second),
	})
	if err != nil {
		return err
	}
	var ok *wire.ConnectionTuneOk
	if err := expectMethod(c, &ok); err != nil {
		return err
	}
	if err := c.checkTuneOk(ok, chMax); err != nil {
		return err
	}
	c.frameMax, c.channelMax = ok.FrameMax, ok.ChannelMax
	c.heartbeat = time.Duration(ok.Heartbeat) * time.Second
	c.r.SetMaxFrameSize(c.frameMax)
	return nil
}

// channelMaxOffered is the gateway's channel_max, lowered to the
// instance's max_channels_per_connection: the client learns the quota in
// connection.tune, and channel.open past it is refused as past channel_max.
func (c *Conn) channelMaxOffered() uint16 {
	if q := c.quotas.MaxChannelsPerConnection; q > 0 && q < uint32(c.cfg.ChannelMax) {
		return uint16(q)
	}
	return c.cfg.ChannelMax
}

// checkTuneOk applies rabbit_reader's validate_negotiated_integer_value/3:
// frame_max within [8192, server's], channel_max within [1, offered].
func (c *Conn) checkTuneOk(ok *wire.ConnectionTuneOk, chMax uint16) error {
	if err := checkNegotiated("frame_max", uint64(ok.FrameMax), MinFrameMax, uint64(c.cfg.FrameMax)); err != nil {
		return err
	}
	return checkNegotiated("channel_max", uint64(ok.ChannelMax), 1, uint64(chMax))
}

func checkNegotiated(name string, v, lo, hi uint64) error {
	if v > hi {
		return reply.Errorf(reply.NotAllowed,
			"negotiated %s = %d is higher than the maximum allowed value (%d)", name, v, hi)
	}
	if v < lo {
		return reply.Errorf(reply.NotAllowed,
			"negotiated %s = %d is lower than the minimum allowed value (%d)", name, v, lo)
	}
	return nil
}

func (c *Conn) open() error {
	var o *wire.ConnectionOpen
	if err := expectMethod(c, &o); err != nil {
		return err
	}
	if err := c.admit(o.VirtualHost); err != nil {
		return err
	}
	c.vhost = o.VirtualHost
	c.maxMessage = c.cfg.MaxMessageSize
	if q := int(c.quotas.MaxMessageSize); q > 0 && q < c.maxMessage {
		c.maxMessage = q
	}
	c.rate = c.cfg.tenants.bucket(c.inst, c.quotas.MaxPublishRate)
	c.storeGate = c.cfg.tenants.gate(c.inst)
	c.who.Store(&Identity{Instance: c.inst, User: c.user, VHost: c.vhost})
	return c.out.method(0, &wire.ConnectionOpenOk{})
}

// admit applies rabbit_reader's connection.open checks in its order: the
// vhost exists, the connection limit (the instance's max_connections,
// across every gateway), then the user's access to the vhost; each refusal is 530.
func (c *Conn) admit(vhost string) error {
	exists := false
	c.cfg.Mirror.Read(c.inst, func(ix *route.Index) { exists = ix.VHost(vhost) })
	if !exists {
		return reply.Errorf(reply.NotAllowed, "vhost %s not found", vhost)
	}
	if !c.cfg.admitConn(c.inst, c.quotas.MaxConnections) {
		return reply.Errorf(reply.NotAllowed, "access to vhost '%s' refused for user '%s': connection limit (%d) is reached",
			vhost, c.user, c.quotas.MaxConnections)
	}
	c.admitted = true
	if c.cfg.Perms.Lookup(c.inst, vhost, c.user) == nil {
		return reply.Errorf(reply.NotAllowed, "access to vhost '%s' refused for user '%s'", vhost, c.user)
	}
	return nil
}

// expect reads the next frame and requires it to be the method *dst points to.
func expectMethod[M wire.Method](c *Conn, dst *M) error {
	f, err := c.r.ReadFrame()
	if err != nil {
		return err
	}
	if f.Type == wire.FrameHeartbeat {
		return expectMethod(c, dst)
	}
	if f.Type != wire.FrameMethod || f.Channel != 0 {
		return reply.Errorf(reply.UnexpectedFrame, "expected a connection method on channel 0")
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return methodDecodeError(err)
	}
	got, ok := m.(M)
	if !ok {
		return reply.Errorf(reply.CommandInvalid, "expected %T, got '%s'", *dst, m.Name())
	}
	*dst = got
	return nil
}

// failHandshake closes a connection whose handshake failed: protocol errors
// get connection.close with their code before the socket closes.
func (c *Conn) failHandshake(err error) {
	var re *reply.Error
	if errors.As(err, &re) {
		_ = c.out.method(0, &wire.ConnectionClose{ReplyCode: re.Code, ReplyText: re.ReplyText()})
		c.cfg.Log.Info("handshake refused", "conn", c.id, "err", re)
		c.discardInput() // so the client reads the close instead of a reset
		return
	}
	if !errors.Is(err, errRefused) {
		c.cfg.Log.Debug("handshake ended", "conn", c.id, "err", err)
	}
}

// methodDecodeError maps a method decoding failure to its reply code.
func methodDecodeError(err error) error {
	if errors.Is(err, wire.ErrUnknownMethod) {
		return reply.Errorf(reply.CommandInvalid, "%v", err)
	}
	if errors.Is(err, wire.ErrMalformedUTF8) {
		return reply.Errorf(reply.FrameError, "Malformed UTF-8 in shortstr")
	}
	return reply.Errorf(reply.FrameError, "%v", fmt.Sprint(err))
}
