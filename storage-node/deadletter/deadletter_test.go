package deadletter

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/internal/script"
)

// TestScripts runs testdata/*.txt: "queue" sets the dead-lettering queue,
// "msg" the message, "die" dead-letters it (the dead letter becoming the
// current message, so deaths chain) and prints the exact result, decoded.
func TestScripts(t *testing.T) {
	var spec storage.QueueSpec
	var m *storage.Message
	script.Run(t, "testdata/*.txt", func(t *testing.T, c *script.Cmd) string {
		switch c.Name {
		case "queue":
			spec = storage.QueueSpec{Name: c.Str("name", "q"), VHost: "/", HasDLX: true,
				DeadLetterExchange: c.Str("dlx", "dlx")}
			if c.Has("dlrk") {
				spec.HasDLRoutingKey, spec.DeadLetterRoutingKey = true, c.Str("dlrk", "")
			}
			return ""
		case "msg":
			m = newMessage(t, c)
			return render(t, m)
		case "die":
			now := time.Unix(c.Int(t, "time", 0), 0)
			dl, err := Rewrite(&spec, m, c.Str("reason", "rejected"), now)
			if err != nil {
				return "error: " + err.Error()
			}
			m = dl.Msg
			return fmt.Sprintf("route vhost=%s exchange=%s keys=%v\n", dl.VHost, dl.Exchange, dl.RoutingKeys) + render(t, m)
		}
		t.Fatalf("%s: unknown command %s", c.Pos, c.Name)
		return ""
	})
}

func newMessage(t *testing.T, c *script.Cmd) *storage.Message {
	p := amqp.Properties{Flags: amqp.FlagDeliveryMode, DeliveryMode: 2}
	h := amqp.Table{}
	for _, k := range []string{"CC", "BCC"} {
		if a := c.Str(strings.ToLower(k), ""); a != "" {
			var arr []any
			for _, s := range strings.Split(a, "+") {
				arr = append(arr, s)
			}
			h[k] = arr
		}
	}
	if c.Has("app") {
		h["app-header"] = int32(7)
	}
	if len(h) > 0 {
		p.Flags |= amqp.FlagHeaders
		p.Headers = h
	}
	if e := c.Str("expiration", ""); e != "" {
		p.Flags |= amqp.FlagExpiration
		p.Expiration = e
	}
	props, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &storage.Message{Exchange: c.Str("exchange", "ex"), RoutingKey: c.Str("rk", "rk"),
		Properties: props, Body: []byte("body"), Persistent: true, TTL: -1}
}

// render prints a message and its decoded properties, typed and sorted.
func render(t *testing.T, m *storage.Message) string {
	p, err := amqp.DecodeProperties(m.Properties)
	if err != nil {
		t.Fatalf("stored properties do not decode: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "message exchange=%s rk=%s ttl=%d delivery-mode=%d", m.Exchange, m.RoutingKey, m.TTL, p.DeliveryMode)
	if p.Flags&amqp.FlagExpiration != 0 {
		fmt.Fprintf(&b, " expiration=%s", p.Expiration)
	}
	b.WriteString("\n")
	keys := make([]string, 0, len(p.Headers))
	for k := range p.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %s\n", k, value(p.Headers[k]))
	}
	return b.String()
}

func value(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("S%q", x)
	case int64:
		return fmt.Sprintf("l%d", x)
	case int32:
		return fmt.Sprintf("I%d", x)
	case time.Time:
		return fmt.Sprintf("T%d", x.Unix())
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = value(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case amqp.Table:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + value(x[k])
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// TestRewriteDoesNotModifyInput checks the original message and its
// properties are left as they were (they may still be in a queue).
func TestRewriteDoesNotModifyInput(t *testing.T) {
	p := amqp.Properties{Flags: amqp.FlagHeaders | amqp.FlagExpiration, Expiration: "5",
		Headers: amqp.Table{"x-death": []any{amqp.Table{"queue": "q", "reason": "expired", "count": int64(1)}}}}
	props, _ := p.Append(nil)
	m := &storage.Message{Exchange: "e", RoutingKey: "k", Properties: slices.Clone(props), TTL: 5}
	orig := *m
	spec := &storage.QueueSpec{Name: "q", DeadLetterExchange: "d"}
	if _, err := Rewrite(spec, m, "expired", time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*m, orig) || !slices.Equal(m.Properties, props) {
		t.Fatal("Rewrite modified its input")
	}
}

func TestRewriteMalformedProperties(t *testing.T) {
	m := &storage.Message{Exchange: "e", RoutingKey: "k", Properties: []byte{0x20, 0, 0, 0, 0, 9}}
	dl, err := Rewrite(&storage.QueueSpec{Name: "q", DeadLetterExchange: "d"}, m, "rejected", time.Unix(1, 0))
	if err == nil {
		t.Fatal("no error for malformed properties")
	}
	if dl.Exchange != "d" || !slices.Equal(dl.RoutingKeys, []string{"k"}) || dl.Msg == nil || dl.Msg.Exchange != "d" {
		t.Fatalf("fallback dead letter %+v", dl)
	}
}

// TestRewriteNamesSource checks the dead letter carries its source queue
// and vhost, which choose the instance and vhost it is routed in, also
// when the properties cannot be rewritten.
func TestRewriteNamesSource(t *testing.T) {
	spec := &storage.QueueSpec{ID: 42, VHost: "v", Name: "q", DeadLetterExchange: "d"}
	for _, props := range [][]byte{nil, {0x20, 0, 0, 0, 0, 9}} {
		m := &storage.Message{Exchange: "e", RoutingKey: "k", Properties: props}
		dl, _ := Rewrite(spec, m, "rejected", time.Unix(1, 0))
		if dl.Queue != 42 || dl.VHost != "v" {
			t.Fatalf("dead letter from queue %d in vhost %q, want 42 in v", dl.Queue, dl.VHost)
		}
	}
}
