package conn

import (
	"strings"
	"testing"
)

type fixedRelay string

func (r fixedRelay) Origin() string      { return string(r) }
func (fixedRelay) Forward(string, Reply) {}

// TestReplyAddressOrigin: with a relay, reply addresses name their gateway
// and the name is read back; addresses made without one, or forged with a
// name that could not be a relay subject, name no gateway.
func TestReplyAddressOrigin(t *testing.T) {
	with := (&Config{ReplyRelay: fixedRelay("gw-0a1b2c3d4e5f")}).newReplyAddress()
	if origin, ok := replyOrigin(with); !ok || origin != "gw-0a1b2c3d4e5f" {
		t.Errorf("%q: origin %q %v, want gw-0a1b2c3d4e5f", with, origin, ok)
	}
	without := (&Config{}).newReplyAddress()
	if !strings.HasPrefix(without, replyToPrefix) || strings.Contains(strings.TrimPrefix(without, replyToPrefix), ".") {
		t.Errorf("address without a relay %q: want amq.rabbitmq.reply-to.<token>", without)
	}
	for _, addr := range []string{
		without,
		replyToPrefix + ".token",     // empty origin
		replyToPrefix + "gw>.token",  // wildcard
		replyToPrefix + "gw*x.token", // wildcard
		replyToPrefix + "gw x.token", // space
		replyToPrefix + strings.Repeat("a", MaxReplyOrigin+1) + ".t", // too long
	} {
		if origin, ok := replyOrigin(addr); ok {
			t.Errorf("%q names gateway %q; want none", addr, origin)
		}
	}
	if _, ok := replyOrigin(replyToPrefix + strings.Repeat("a", MaxReplyOrigin) + ".t"); !ok {
		t.Errorf("an origin of %d bytes refused", MaxReplyOrigin)
	}
}
