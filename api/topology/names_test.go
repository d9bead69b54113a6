package topology

import (
	"strings"
	"testing"
)

func TestCheckInstanceName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"acme", true},
		{"a", true},
		{"acme-prod-2", true},
		{"0day", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Acme", false},     // a host name compares case-insensitively; names are lower-case
		{"-acme", false},    // not a DNS label
		{"acme-", false},    // not a DNS label
		{"ac.me", false},    // would be two labels
		{"acme:x", false},   // logins split <instance>:<user> at the first colon
		{"acme_1", false},   // not in a DNS label
		{"ácme", false},     // not ASCII
		{"amq.acme", false}, // the dot
	} {
		if err := CheckInstanceName(c.name); (err == nil) != c.ok {
			t.Errorf("%q: err=%v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestCheckEntityName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"/", true},
		{"prod/orders", true},
		{"amq.events", true}, // RabbitMQ reserves amq. only for exchanges and queues
		{"user@example.com", true},
		{"ünïcødé", true},
		{strings.Repeat("v", 255), true},
		{strings.Repeat("v", 256), false},
		{"", false},
		{"tab\there", false},
		{"nul\x00", false},
		{"bad\xffutf8", false},
	} {
		if err := CheckEntityName("vhost", c.name); (err == nil) != c.ok {
			t.Errorf("%q: err=%v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestCheckTags(t *testing.T) {
	for _, c := range []struct {
		tags []string
		ok   bool
	}{
		{nil, true},
		{[]string{"administrator", "monitoring"}, true},
		{[]string{""}, false},
		{[]string{"a,b"}, false},
		{[]string{" padded"}, false},
		{[]string{"line\nbreak"}, false},
		{make([]string, MaxTags+1), false},
	} {
		if err := CheckTags(c.tags); (err == nil) != c.ok {
			t.Errorf("%q: err=%v, want ok=%v", c.tags, err, c.ok)
		}
	}
}

func TestCheckPermission(t *testing.T) {
	for _, c := range []struct {
		p    Permission
		want string // a part of the error; "" for none
	}{
		{FullAccess("/", "u"), ""},
		{Permission{Configure: "", Write: "^amq\\.default$", Read: "^(orders|billing)\\..*"}, ""},
		{Permission{Configure: "(", Write: ".*", Read: ".*"}, "configure pattern"},
		{Permission{Configure: ".*", Write: ".*", Read: "^(?!tmp)"}, "read pattern"}, // RE2 has no look-ahead
		{Permission{Configure: ".*", Write: strings.Repeat("a", MaxPatternLen+1), Read: ".*"}, "write pattern longer"},
	} {
		err := CheckPermission(c.p)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.p, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: got %v, want an error with %q", c.p, err, c.want)
		}
	}
}
