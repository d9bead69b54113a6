// Package topokv is how the topology is laid out in NATS JetStream KV: the
// bucket, the key of each record, the record encoding, and the Mirror that
// every service keeps in memory by watching the bucket.
package topokv

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/topology"
)

// Bucket is the KV bucket holding every instance's topology.
const Bucket = "warren-topology"

// Record kinds: the first token of every key.
const (
	kindInstance   = "i"
	kindVHost      = "v"
	kindUser       = "u"
	kindPermission = "p"
	kindExchange   = "x"
	kindQueue      = "q"
	kindBinding    = "b"
	kindPolicy     = "y"
)

// keyTokens is how many dot-separated tokens each kind's key has.
var keyTokens = map[string]int{
	kindInstance: 2, kindVHost: 3, kindUser: 3,
	kindPermission: 4, kindExchange: 4, kindQueue: 4, kindBinding: 4,
	kindPolicy: 4,
}

// token makes any name safe as a KV key token (KV keys allow only
// [-/_=.a-zA-Z0-9]); the "n" prefix keeps the empty name a non-empty token.
func token(name string) string {
	return "n" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

func untoken(t string) (string, bool) {
	if !strings.HasPrefix(t, "n") {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(t[1:])
	return string(b), err == nil
}

// InstanceKey is the key of an instance record.
func InstanceKey(inst string) string {
	return kindInstance + "." + token(inst)
}

// UserKey is the key of a user record.
func UserKey(inst, user string) string {
	return kindUser + "." + token(inst) + "." + token(user)
}

// PermissionKey is the key of a user's permission record in a vhost.
func PermissionKey(inst, vhost, user string) string {
	return kindPermission + "." + token(inst) + "." + token(vhost) + "." + token(user)
}

// PolicyKey is the key of a policy record.
func PolicyKey(inst, vhost, name string) string {
	return kindPolicy + "." + token(inst) + "." + token(vhost) + "." + token(name)
}

// InstanceContents is a KV key filter matching every record of an
// instance but the instance record itself.
func InstanceContents(inst string) string {
	return "*." + token(inst) + ".>"
}

// VHostContents is a KV key filter matching the exchanges, queues,
// bindings, permissions and policies of a vhost, but not the vhost record.
func VHostContents(inst, vhost string) string {
	return "*." + token(inst) + "." + token(vhost) + ".*"
}

// VHostKey is the key of a vhost record.
func VHostKey(inst, vhost string) string {
	return kindVHost + "." + token(inst) + "." + token(vhost)
}

// ExchangeKey is the key of an exchange record.
func ExchangeKey(inst, vhost, name string) string {
	return kindExchange + "." + token(inst) + "." + token(vhost) + "." + token(name)
}

// QueueKey is the key of a queue record.
func QueueKey(inst, vhost, name string) string {
	return kindQueue + "." + token(inst) + "." + token(vhost) + "." + token(name)
}

// BindingKey is the key of a binding record: a binding is identified by all
// of its fields, arguments included, as in RabbitMQ.
func BindingKey(inst string, b topology.Binding) (string, error) {
	id, err := BindingID(b)
	if err != nil {
		return "", err
	}
	return kindBinding + "." + token(inst) + "." + token(b.VHost) + "." + id, nil
}

// BindingID hashes a binding's identity.
func BindingID(b topology.Binding) (string, error) {
	args, err := amqp.AppendTable(nil, b.Args)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range []string{b.Source, string(b.DestKind), b.Dest, b.Key} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	h.Write(args)
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// parsedKey is a key split into its parts. name is the user for user and
// permission keys, the binding ID for binding keys.
type parsedKey struct {
	kind, inst, vhost, name string
}

func parseKey(key string) (parsedKey, bool) {
	parts := strings.Split(key, ".")
	if n, known := keyTokens[parts[0]]; !known || len(parts) != n {
		return parsedKey{}, false
	}
	inst, ok := untoken(parts[1])
	pk := parsedKey{kind: parts[0], inst: inst}
	switch pk.kind {
	case kindInstance:
	case kindUser:
		pk.name, ok = untokenAnd(ok, parts[2])
	case kindVHost:
		pk.vhost, ok = untokenAnd(ok, parts[2])
	case kindBinding:
		pk.vhost, ok = untokenAnd(ok, parts[2])
		pk.name = parts[3]
	default:
		pk.vhost, ok = untokenAnd(ok, parts[2])
		pk.name, ok = untokenAnd(ok, parts[3])
	}
	return pk, ok
}

// untokenAnd decodes t when ok, so a key's tokens are decoded in a row
// until one fails.
func untokenAnd(ok bool, t string) (string, bool) {
	if !ok {
		return "", false
	}
	return untoken(t)
}

// deleteRank orders kinds for deletion: a record goes after every record
// that refers to it, so that a mirror never holds a binding whose ends are
// gone, and a vhost or instance goes last of all.
var deleteRank = map[string]int{
	kindPermission: 0, kindPolicy: 0, kindBinding: 1, kindQueue: 2, kindExchange: 3,
	kindUser: 4, kindVHost: 5, kindInstance: 6,
}

// SortForDelete orders keys for a deletion in deleteRank order; keys of
// unknown kinds go first.
func SortForDelete(keys []string) {
	rank := func(k string) int {
		kind, _, _ := strings.Cut(k, ".")
		return deleteRank[kind] // unknown: 0
	}
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
}
