package topokv

import (
	"encoding/json"
	"fmt"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/topology"
)

// Records are JSON with the arguments as an AMQP-encoded table, so argument
// types (int16 vs int64, longstr vs bytes) survive the round trip exactly:
// redeclare equivalence and headers matching depend on them.

type exchangeRecord struct {
	topology.Exchange
	Args []byte `json:"args,omitempty"`
}

type queueRecord struct {
	topology.Queue
	Args []byte `json:"args,omitempty"`
}

type bindingRecord struct {
	topology.Binding
	Args []byte `json:"args,omitempty"`
}

// EncodeExchange encodes an exchange record.
func EncodeExchange(x topology.Exchange) ([]byte, error) {
	args, err := amqp.MarshalTable(x.Args)
	if err != nil {
		return nil, err
	}
	return json.Marshal(exchangeRecord{Exchange: x, Args: args})
}

// DecodeExchange decodes an exchange record.
func DecodeExchange(b []byte) (topology.Exchange, error) {
	var r exchangeRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return topology.Exchange{}, fmt.Errorf("decode exchange: %w", err)
	}
	var err error
	r.Exchange.Args, err = amqp.UnmarshalTable(r.Args)
	return r.Exchange, err
}

// EncodeQueue encodes a queue record.
func EncodeQueue(q topology.Queue) ([]byte, error) {
	args, err := amqp.MarshalTable(q.Args)
	if err != nil {
		return nil, err
	}
	return json.Marshal(queueRecord{Queue: q, Args: args})
}

// DecodeQueue decodes a queue record.
func DecodeQueue(b []byte) (topology.Queue, error) {
	var r queueRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return topology.Queue{}, fmt.Errorf("decode queue: %w", err)
	}
	var err error
	r.Queue.Args, err = amqp.UnmarshalTable(r.Args)
	return r.Queue, err
}

// EncodeBinding encodes a binding record.
func EncodeBinding(b topology.Binding) ([]byte, error) {
	args, err := amqp.MarshalTable(b.Args)
	if err != nil {
		return nil, err
	}
	return json.Marshal(bindingRecord{Binding: b, Args: args})
}

// DecodeBinding decodes a binding record.
func DecodeBinding(b []byte) (topology.Binding, error) {
	var r bindingRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return topology.Binding{}, fmt.Errorf("decode binding: %w", err)
	}
	var err error
	r.Binding.Args, err = amqp.UnmarshalTable(r.Args)
	return r.Binding, err
}

// The instance, vhost, user and permission records are plain JSON. The
// names in a record's key are authoritative: decoding fills them from the
// key, so a record cannot claim to be another.

// EncodeInstance encodes an instance record.
func EncodeInstance(i topology.Instance) ([]byte, error) { return json.Marshal(i) }

// DecodeInstance decodes an instance record.
func DecodeInstance(b []byte) (topology.Instance, error) {
	return decodeJSON[topology.Instance]("instance", b)
}

// EncodeVHost encodes a vhost record.
func EncodeVHost(v topology.VHost) ([]byte, error) { return json.Marshal(v) }

// DecodeVHost decodes a vhost record; records written before vhosts had
// metadata are "{}".
func DecodeVHost(b []byte) (topology.VHost, error) {
	return decodeJSON[topology.VHost]("vhost", b)
}

// EncodeUser encodes a user record.
func EncodeUser(u topology.User) ([]byte, error) { return json.Marshal(u) }

// DecodeUser decodes a user record.
func DecodeUser(b []byte) (topology.User, error) {
	return decodeJSON[topology.User]("user", b)
}

// EncodePermission encodes a permission record.
func EncodePermission(p topology.Permission) ([]byte, error) { return json.Marshal(p) }

// DecodePermission decodes a permission record.
func DecodePermission(b []byte) (topology.Permission, error) {
	return decodeJSON[topology.Permission]("permission", b)
}

func decodeJSON[T any](what string, b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// EncodePolicy encodes a policy record.
func EncodePolicy(p topology.Policy) ([]byte, error) { return json.Marshal(p) }

// DecodePolicy decodes a policy record.
func DecodePolicy(b []byte) (topology.Policy, error) {
	return decodeJSON[topology.Policy]("policy", b)
}
