package queue

import (
	"testing"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/internal/script"
)

// effective is the script's "policy" command: the declared spec with the
// limits and dead-letter target the command names, and no other.
func (e *env) effective(t *testing.T, c *script.Cmd) storage.QueueSpec {
	s := e.spec
	s.MessageTTL = c.Int(t, "ttl", -1)
	s.Expires = c.Int(t, "expires", -1)
	s.MaxLength = c.Int(t, "max-len", -1)
	s.MaxLengthBytes = c.Int(t, "max-bytes", -1)
	s.HasDLX, s.DeadLetterExchange = c.Has("dlx"), c.Str("dlx", "")
	s.Overflow = storage.DropHead
	if c.Str("overflow", "drop-head") == "reject-publish" {
		s.Overflow = storage.RejectPublish
	}
	// What a policy cannot change, the command tries to: it must not stick.
	s.MaxPriority, s.ID, s.Name = 9, s.ID+1, "other"
	return s
}
