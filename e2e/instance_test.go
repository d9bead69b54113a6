package e2e

// Instances on the AMQP side: logins as "<instance>:<user>", vhost access
// and permissions with RabbitMQ's codes, isolation between instances,
// quotas, and connections closed when what they stand on is deleted.
// Every test provisions over REST, so all skip against an external broker.

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// tenant is an instance provisioned for one test, deleted at its end.
type tenant struct {
	api  restAPI
	name string
}

func newTenant(t *testing.T, quotas string) tenant {
	t.Helper()
	api := provisioningAPI(t)
	return tenant{api: api, name: api.newInstance(t, quotas)}
}

func (tn tenant) path(rest string) string { return "/v1/instances/" + tn.name + rest }

func (tn tenant) vhost(t *testing.T, name string) {
	t.Helper()
	tn.api.call(t, tn.api.token, "POST", tn.path("/vhosts"), `{"name":"`+name+`"}`).must(t, "create vhost", 200)
}

func (tn tenant) user(t *testing.T, name, password string) {
	t.Helper()
	tn.api.call(t, tn.api.token, "POST", tn.path("/users"), `{"name":"`+name+`","password":"`+password+`"}`).must(t, "create user", 200)
}

// permit sets a user's configure, write and read expressions (JSON-escaped) in a vhost.
func (tn tenant) permit(t *testing.T, vhost, user, configure, write, read string) {
	t.Helper()
	body := `{"configure":"` + configure + `","write":"` + write + `","read":"` + read + `"}`
	tn.api.call(t, tn.api.token, "PUT", tn.path("/permissions/"+url.PathEscape(vhost)+"/"+user), body).must(t, "set permission", 200)
}

// gatewayURL is the AMQP URL of gateway gw (of the split deployment; the
// one warren otherwise) for a login name, password and vhost.
func gatewayURL(t *testing.T, gw int, login, password, vhost string) string {
	t.Helper()
	base := brokerURL(t)
	if suite.split != nil {
		base = suite.split.gateways[gw%len(suite.split.gateways)]
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(login, password)
	u.Path, u.RawPath = "/"+vhost, "/"+url.PathEscape(vhost)
	return u.String()
}

// url is the URL of gateway gw for one of the tenant's users.
func (tn tenant) url(t *testing.T, gw int, user, password, vhost string) string {
	return gatewayURL(t, gw, tn.name+":"+user, password, vhost)
}

// dialProvisioned connects once the gateway's mirror holds what was just
// provisioned: the REST answer can come before a gateway has it.
func dialProvisioned(t *testing.T, u string) *amqp.Connection {
	t.Helper()
	var conn *amqp.Connection
	var err error
	waitFor(t, func() bool { conn, err = amqp.Dial(u); return err == nil }, rpcTimeout, "a login with what was provisioned (last: %v)", &err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dialRefused expects a connection attempt to fail with code and, when
// text is not empty, with that reply text.
func dialRefused(t *testing.T, u string, code int, text string) {
	t.Helper()
	conn, err := amqp.Dial(u)
	if err == nil {
		conn.Close()
		t.Fatalf("connected; want refusal %d %q", code, text)
	}
	var e *amqp.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("dial: %v, want %d", err, code)
	}
	if text != "" {
		expectText(t, e, text)
	}
}

func tenantChannel(t *testing.T, conn *amqp.Connection) *amqp.Channel {
	t.Helper()
	return openChannel(t, conn)
}

func TestInstanceLoginAndVHostAccess(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	tn.vhost(t, "orders")
	tn.user(t, "app", "s3cret")
	tn.permit(t, "orders", "app", ".*", ".*", ".*")
	dialProvisioned(t, tn.url(t, 0, "app", "s3cret", "orders"))
	dialProvisioned(t, tn.url(t, 1, "app", "s3cret", "orders")) // every gateway knows the user

	// A wrong password, a user of another instance, an unknown instance:
	// all the one login refusal, as RabbitMQ gives it.
	dialRefused(t, tn.url(t, 0, "app", "wrong", "orders"), amqp.AccessRefused, "")
	dialRefused(t, gatewayURL(t, 0, "app", "s3cret", "/"), amqp.AccessRefused, "")
	dialRefused(t, gatewayURL(t, 0, "e2e-no-such-instance:app", "s3cret", "/"), amqp.AccessRefused, "")

	// connection.open: the vhost must exist, then the user needs a permission there.
	dialRefused(t, tn.url(t, 0, "app", "s3cret", "nope"), amqp.NotAllowed, "NOT_ALLOWED - vhost nope not found")
	dialRefused(t, tn.url(t, 0, "app", "s3cret", "/"), amqp.NotAllowed, "NOT_ALLOWED - access to vhost '/' refused for user 'app'")
}

// TestInstancePermissions: RabbitMQ's required permission for each
// operation (docs/access-control.md), with its 403 texts.
func TestInstancePermissions(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	tn.user(t, "app", "pw")
	tn.user(t, "reader", "pw")
	tn.permit(t, "/", "app", `^app\\.`, ".*", ".*")
	tn.permit(t, "/", "reader", "", "", ".*")
	app := dialProvisioned(t, tn.url(t, 0, "app", "pw", "/"))
	reader := dialProvisioned(t, tn.url(t, 1, "reader", "pw", "/"))

	ch := tenantChannel(t, app)
	declareQueue(t, ch, "app.jobs", nil)
	publishConfirmed(t, confirmOn(t, app), "", "app.jobs", text("job-1"))
	if _, err := ch.QueueDeclare("jobs", false, false, false, false, nil); err != nil {
		expectText(t, expectChannelClose(t, ch, err, amqp.AccessRefused),
			"ACCESS_REFUSED - configure access to queue 'jobs' in vhost '/' refused for user 'app'")
	} else {
		t.Fatal("declared a queue outside the configure permission")
	}
	ch = tenantChannel(t, app)
	if err := ch.QueueBind("app.jobs", "k", "amq.topic", false, nil); err != nil {
		t.Fatalf("bind with write on the queue and read on the exchange: %v", err)
	}

	rch := tenantChannel(t, reader)
	if got := getOne(t, rch, "app.jobs", true); string(got.Body) != "job-1" {
		t.Errorf("reader got %q", got.Body)
	}
	closed := watchClose(rch)
	if err := rch.Publish("", "app.jobs", false, false, text("x")); err != nil {
		t.Fatal(err)
	}
	e := asAMQPError(t, awaitClose(t, closed), amqp.AccessRefused)
	expectText(t, e, "ACCESS_REFUSED - write access to exchange 'amq.default' in vhost '/' refused for user 'reader'")

	for _, c := range []struct {
		what string
		op   func(ch *amqp.Channel) error
		text string
	}{
		{"queue.delete", func(ch *amqp.Channel) error { _, err := ch.QueueDelete("app.jobs", false, false, false); return err },
			"configure access to queue 'app.jobs'"},
		{"queue.bind", func(ch *amqp.Channel) error { return ch.QueueBind("app.jobs", "k", "amq.direct", false, nil) },
			"write access to queue 'app.jobs'"},
		{"exchange.declare", func(ch *amqp.Channel) error {
			return ch.ExchangeDeclare("app.x", "direct", false, false, false, false, nil)
		},
			"configure access to exchange 'app.x'"},
	} {
		ch := tenantChannel(t, reader)
		e := expectChannelClose(t, ch, c.op(ch), amqp.AccessRefused)
		expectText(t, e, "ACCESS_REFUSED - "+c.text+" in vhost '/' refused for user 'reader'")
	}
}

// confirmOn opens a channel in confirm mode on conn.
func confirmOn(t *testing.T, conn *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch := openChannel(t, conn)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestInstancesAreIsolated: the same names in two instances are two
// things; nothing of one is visible or reachable from the other, not even
// through a direct reply-to address.
func TestInstancesAreIsolated(t *testing.T) {
	pending(t)
	a, b := newTenant(t, `{}`), newTenant(t, `{}`)
	for _, tn := range []tenant{a, b} {
		tn.user(t, "app", "pw")
		tn.permit(t, "/", "app", ".*", ".*", ".*")
	}
	ca := dialProvisioned(t, a.url(t, 0, "app", "pw", "/"))
	cb := dialProvisioned(t, b.url(t, 1, "app", "pw", "/"))
	q, x := uniqueName(t, "iso-q"), uniqueName(t, "iso-x")
	cha := tenantChannel(t, ca)
	declareQueue(t, cha, q, nil)
	declareExchange(t, cha, x, "fanout", nil)
	bindQueue(t, cha, q, "", x, nil)
	publishConfirmed(t, confirmOn(t, ca), "", q, text("a's"))

	chb := tenantChannel(t, cb)
	_, err := chb.QueueDeclarePassive(q, false, false, false, false, nil)
	expectChannelClose(t, chb, err, amqp.NotFound)
	chb = tenantChannel(t, cb)
	expectChannelClose(t, chb, chb.ExchangeDeclarePassive(x, "fanout", false, false, false, false, nil), amqp.NotFound)
	chb = tenantChannel(t, cb)
	declareQueue(t, chb, q, nil) // b's own queue of that name
	expectEmpty(t, chb, q)
	guest := channel(t) // the default instance sees neither
	_, err = guest.QueueDeclarePassive(q, false, false, false, false, nil)
	expectChannelClose(t, guest, err, amqp.NotFound)
	if n := messageCount(t, cha, q); n != 1 {
		t.Errorf("a's queue holds %d messages, want its 1", n)
	}

	// a asks with direct reply-to; b learns the address and answers: the
	// answer must not reach a, and the address does not exist for b.
	replies := consume(t, cha, "amq.rabbitmq.reply-to", "", true, nil)
	publish(t, cha, "", q, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("ping")})
	var addr string
	waitFor(t, func() bool {
		d, ok, err := cha.Get(q, true)
		if err == nil && ok && d.ReplyTo != "" {
			addr = d.ReplyTo
		}
		return addr != ""
	}, rpcTimeout, "the request with its reply address")
	chb = tenantChannel(t, cb)
	publish(t, chb, "", addr, text("pong from b"))
	expectNoDelivery(t, replies)
	_, err = chb.QueueDeclarePassive(addr, false, false, false, false, nil)
	expectChannelClose(t, chb, err, amqp.NotFound)
}

// TestInstanceQuotas: each quota breach gets RabbitMQ's error for the
// matching limit. (quota_split_test.go counts connections across gateways.)
func TestInstanceQuotas(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{"max_connections":2,"max_channels_per_connection":2,"max_queues":2,"max_exchanges":1,"max_message_size":1024}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	u := tn.url(t, 0, "app", "pw", "/")
	c1 := dialProvisioned(t, u)
	if c1.Config.ChannelMax != 2 {
		t.Errorf("negotiated channel_max %d, want the quota 2", c1.Config.ChannelMax)
	}
	dialProvisioned(t, u)
	dialRefused(t, u, amqp.NotAllowed, "NOT_ALLOWED - access to vhost '/' refused for user 'app': connection limit (2) is reached")

	ch := tenantChannel(t, c1)
	for _, name := range []string{"q1", "q2"} {
		declareQueue(t, ch, name, nil)
	}
	declareQueue(t, ch, "q1", nil) // a redeclare is not a new queue
	_, err := ch.QueueDeclare("q3", false, false, false, false, nil)
	expectText(t, expectChannelClose(t, ch, err, amqp.PreconditionFailed),
		"PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in vhost '/' (2) is reached")

	ch = tenantChannel(t, c1)
	declareExchange(t, ch, "x1", "direct", nil)
	err = ch.ExchangeDeclare("x2", "direct", false, false, false, false, nil)
	expectText(t, expectChannelClose(t, ch, err, amqp.PreconditionFailed),
		"PRECONDITION_FAILED - cannot declare exchange 'x2' in vhost '/': exchange limit of 1 is reached")

	ch = tenantChannel(t, c1)
	closed := watchClose(ch)
	if err := ch.Publish("", "q1", false, false, amqp.Publishing{Body: make([]byte, 2000)}); err != nil {
		t.Fatal(err)
	}
	expectText(t, asAMQPError(t, awaitClose(t, closed), amqp.PreconditionFailed),
		"PRECONDITION_FAILED - message size 2000 is larger than configured max size 1024")
}

// TestInstanceChannelQuota: channel.open past the instance's
// max_channels_per_connection, which the gateway offered as channel_max,
// is RabbitMQ's 530 for channel_max.
func TestInstanceChannelQuota(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{"max_channels_per_connection":2}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	dialProvisioned(t, tn.url(t, 0, "app", "pw", "/")).Close()
	rc := dialRaw(t)
	rc.handshake(rawOptions{user: tn.name + ":app", password: "pw"})
	if rc.tune.channelMax != 2 {
		t.Fatalf("connection.tune offered channel_max %d, want the quota 2", rc.tune.channelMax)
	}
	rc.openChannel(1)
	rc.openChannel(2)
	rc.sendMethod(3, classChannel, 10, new(wbuf).shortstr("").bytes())
	if got, want := rc.expectConnectionClose(530), "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)"; got != want {
		t.Errorf("reply text %q, want %q", got, want)
	}
}

// TestInstancePublishRate: past max_publish_rate a publisher is slowed by
// the gateway not reading its socket; nothing is dropped or refused.
func TestInstancePublishRate(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{"max_publish_rate":100}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	conn := dialProvisioned(t, tn.url(t, 0, "app", "pw", "/"))
	ch := confirmOn(t, conn)
	q := declareQueue(t, tenantChannel(t, conn), "paced", nil).Name
	const n = 300 // three seconds' worth at the quota
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
	for i := range n {
		if err := ch.Publish("", q, false, false, text(strings.Repeat("m", i%7))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	for i := range n {
		if c := <-confirms; !c.Ack {
			t.Fatalf("publish %d nacked", i)
		}
	}
	if got := messageCount(t, tenantChannel(t, conn), q); got != n {
		t.Errorf("%d messages stored, want all %d", got, n)
	}
}

// TestDeletionsCloseConnections: deleting a user, a vhost or the whole
// instance closes the connections that stood on it with 320, and the
// deleted login is refused afterwards.
func TestDeletionsCloseConnections(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	tn.vhost(t, "side")
	for _, u := range []string{"gone", "stays"} {
		tn.user(t, u, "pw")
		tn.permit(t, "/", u, ".*", ".*", ".*")
	}
	tn.permit(t, "side", "stays", ".*", ".*", ".*")
	expectForced := func(conn *amqp.Connection, closed <-chan *amqp.Error, text string) {
		t.Helper()
		e := asAMQPError(t, awaitClose(t, closed), amqp.ConnectionForced)
		expectText(t, e, "CONNECTION_FORCED - "+text)
	}

	gone := dialProvisioned(t, tn.url(t, 0, "gone", "pw", "/"))
	closed := watchConnClose(gone)
	tn.api.call(t, tn.api.token, "DELETE", tn.path("/users/gone"), "").must(t, "delete user", 200)
	expectForced(gone, closed, "user 'gone' is deleted")
	dialRefused(t, tn.url(t, 0, "gone", "pw", "/"), amqp.AccessRefused, "")

	side := dialProvisioned(t, tn.url(t, 1, "stays", "pw", "side"))
	closed = watchConnClose(side)
	tn.api.call(t, tn.api.token, "DELETE", tn.path("/vhosts/side"), "").must(t, "delete vhost", 200)
	expectForced(side, closed, "vhost 'side' is deleted")

	stays := dialProvisioned(t, tn.url(t, 0, "stays", "pw", "/"))
	closed = watchConnClose(stays)
	tn.api.call(t, tn.api.token, "DELETE", tn.path(""), "").must(t, "delete instance", 200)
	expectForced(stays, closed, "vhost '/' is deleted")
	dialRefused(t, tn.url(t, 0, "stays", "pw", "/"), amqp.AccessRefused, "")
}

// TestInstanceQueueExpires: a storage node reports an unused queue by its
// ID alone; the queue goes from the topology of whichever instance holds it.
func TestInstanceQueueExpires(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	conn := dialProvisioned(t, tn.url(t, 0, "app", "pw", "/"))
	declareQueue(t, openChannel(t, conn), "short-lived", amqp.Table{"x-expires": int32(50)})
	// A passive declare renews x-expires, so look less often than it expires.
	deadline := time.Now().Add(rpcTimeout)
	for {
		time.Sleep(200 * time.Millisecond)
		ch := openChannel(t, conn)
		_, err := ch.QueueDeclarePassive("short-lived", false, false, false, false, nil)
		var e *amqp.Error
		if errors.As(err, &e) && e.Code == amqp.NotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired queue is still in the instance's topology: %v", err)
		}
	}
}

// TestInstanceStoredBytesQuota: once the instance's queues hold more than
// max_stored_bytes, a publisher gets connection.blocked and is not read;
// when a consumer brings the instance under again, connection.unblocked.
func TestInstanceStoredBytesQuota(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{"max_stored_bytes":1000}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	u := tn.url(t, 0, "app", "pw", "/")
	pub := dialProvisioned(t, u)
	blocked := pub.NotifyBlocked(make(chan amqp.Blocking, 4))
	q := declareQueue(t, openChannel(t, pub), "backlog", nil).Name
	publishConfirmed(t, confirmOn(t, pub), "", q, amqp.Publishing{Body: make([]byte, 1500)})
	// The gateway sees the backlog within a meter period; the first
	// publish after that is held, and its connection told why.
	ch := openChannel(t, pub)
	waitFor(t, func() bool {
		select {
		case b := <-blocked:
			if !b.Active || !strings.Contains(b.Reason, "max_stored_bytes") {
				t.Fatalf("blocked notice %+v", b)
			}
			return true
		default:
		}
		if err := ch.Publish("", q, false, false, text("more")); err != nil {
			t.Fatal(err)
		}
		return false
	}, rpcTimeout, "connection.blocked")
	// The publisher's connection is not read while blocked: purge through another.
	if _, err := openChannel(t, dialProvisioned(t, u)).QueuePurge(q, false); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-blocked:
		if b.Active {
			t.Fatalf("after the purge: %+v, want unblocked", b)
		}
	case <-time.After(rpcTimeout):
		t.Fatal("no connection.unblocked after the purge")
	}
}

// TestInstanceDeadLetters: a queue of an instance dead-letters (rejected,
// expired, dropped from the head) through its own instance's exchange into
// its own queue, though the default instance has an exchange and queues of
// the same names, which get nothing.
func TestInstanceDeadLetters(t *testing.T) {
	pending(t)
	tn := newTenant(t, `{}`)
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")
	conn := dialProvisioned(t, tn.url(t, 1, "app", "pw", "/"))
	dlx, dlq := uniqueName(t, "dlx"), uniqueName(t, "dlq")
	sources := map[string]amqp.Table{ // by reason
		"rejected": {"x-dead-letter-exchange": dlx},
		"expired":  {"x-dead-letter-exchange": dlx, "x-message-ttl": int32(50)},
		"maxlen":   {"x-dead-letter-exchange": dlx, "x-max-length": int32(1)},
	}
	names := map[string]string{}
	for reason := range sources {
		names[reason] = uniqueName(t, reason)
	}
	guest := confirmChannel(t)
	ch := confirmOn(t, conn)
	for _, c := range []*amqp.Channel{guest, ch} {
		declareExchange(t, c, dlx, "fanout", nil)
		declareQueue(t, c, dlq, nil)
		bindQueue(t, c, dlq, "", dlx, nil)
	}
	for reason, args := range sources {
		declareQueue(t, guest, names[reason], nil)
		declareQueue(t, ch, names[reason], args)
	}

	publishConfirmed(t, ch, "", names["rejected"], text("rejected"))
	if err := getOne(t, ch, names["rejected"], false).Reject(false); err != nil {
		t.Fatal(err)
	}
	publishConfirmed(t, ch, "", names["expired"], text("expired"))
	publishBodies(t, ch, names["maxlen"], "maxlen", "kept")

	waitCount(t, ch, dlq, len(sources))
	for range sources {
		d := getOne(t, ch, dlq, true)
		reason := string(d.Body)
		src, ok := names[reason]
		if !ok {
			t.Fatalf("dead-letter queue holds %q", d.Body)
		}
		deaths := xDeath(t, d)
		if len(deaths) != 1 || deaths[0]["queue"] != src || deaths[0]["reason"] != reason {
			t.Errorf("%s: x-death %#v, want one death in %s", reason, deaths, src)
		}
		expectDeathHeaders(t, d, src, reason, "", src, reason, "")
	}
	if n := messageCount(t, guest, dlq); n != 0 {
		t.Errorf("the default instance's queue of the same name holds %d messages, want 0", n)
	}
}
