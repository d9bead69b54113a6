// Package topokv is how the topology is laid out in NATS JetStream KV: the
// bucket, the key of each record, the record encoding, and the Mirror that
// every service keeps in memory by watching the bucket.
package topokv

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/topology"
)

// Bucket is the KV bucket holding every instance's topology.
const Bucket = "warren-topology"

// Record kinds: the first token of every key.
const (
	kindVHost    = "v"
	kindExchange = "x"
	kindQueue    = "q"
	kindBinding  = "b"
)

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

// parsedKey is a key split into its parts.
type parsedKey struct {
	kind, inst, vhost, name string // name is the binding ID for bindings
}

func parseKey(key string) (parsedKey, bool) {
	parts := strings.Split(key, ".")
	if len(parts) < 3 {
		return parsedKey{}, false
	}
	inst, ok1 := untoken(parts[1])
	vhost, ok2 := untoken(parts[2])
	if !ok1 || !ok2 {
		return parsedKey{}, false
	}
	pk := parsedKey{kind: parts[0], inst: inst, vhost: vhost}
	if len(parts) == 4 {
		pk.name = parts[3]
		if pk.kind != kindBinding {
			name, ok := untoken(parts[3])
			if !ok {
				return parsedKey{}, false
			}
			pk.name = name
		}
	}
	return pk, true
}
