// Package connquota counts each instance's AMQP connections across every
// gateway, so that max_connections holds for the cluster, not per gateway.
//
// An instance's record is one key of a NATS KV bucket holding its
// connections on each gateway. Every change is a compare-and-set on the
// record's revision, retried after a conflict: two gateways admitting the
// last connection at once both read the same revision, one write lands,
// the other rereads and finds the quota reached. A gateway writes only its
// own entry; the control plane removes the entries of dead gateways.
package connquota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket holds one key per instance that has connections: its name, which
// topology.CheckInstanceName keeps within KV's key characters.
const Bucket = "warren-connections"

// maxAttempts bounds the compare-and-set retries of one change: each
// conflict means another writer's change landed, so running out means the
// record is written faster than it can be read back, and the caller gets
// an error rather than a loop.
const maxAttempts = 64

// Counts is an instance's record: its connections on each gateway, by
// gateway id. A gateway with none has no entry.
type Counts map[string]int

// Total is the instance's connections across the cluster.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// OpenBucket creates the bucket if needed. It is file-backed like the
// registry: a NATS restart keeps the counts, which gateways would
// otherwise rewrite only at their next sync.
func OpenBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// update applies change to inst's record until its write lands on the
// revision it read. change edits the counts in place and returns false to
// leave the record as it is. It returns the counts as written (or as read,
// when unchanged); on error the record is as some other writer left it.
func update(ctx context.Context, kv jetstream.KeyValue, inst string, change func(Counts) bool) (Counts, error) {
	for range maxAttempts {
		counts, rev, err := read(ctx, kv, inst)
		if err != nil {
			return nil, err
		}
		if !change(counts) {
			return counts, nil
		}
		err = write(ctx, kv, inst, counts, rev)
		if err == nil {
			return counts, nil
		}
		if !conflict(err) {
			return nil, fmt.Errorf("write connection counts of %s: %w", inst, err)
		}
	}
	return nil, fmt.Errorf("write connection counts of %s: %d conflicting writes in a row", inst, maxAttempts)
}

// read returns inst's record and its revision, 0 when it has none.
func read(ctx context.Context, kv jetstream.KeyValue, inst string) (Counts, uint64, error) {
	e, err := kv.Get(ctx, inst)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Counts{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read connection counts of %s: %w", inst, err)
	}
	var c Counts
	if err := json.Unmarshal(e.Value(), &c); err != nil {
		return nil, 0, fmt.Errorf("decode connection counts of %s: %w", inst, err)
	}
	if c == nil {
		c = Counts{}
	}
	return c, e.Revision(), nil
}

// write replaces the record read at rev (0: none) with c, or deletes it
// when c is empty, failing with a conflict if it changed since.
func write(ctx context.Context, kv jetstream.KeyValue, inst string, c Counts, rev uint64) error {
	if len(c) == 0 {
		if rev == 0 {
			return nil
		}
		return kv.Delete(ctx, inst, jetstream.LastRevision(rev))
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = kv.Create(ctx, inst, b)
	} else {
		_, err = kv.Update(ctx, inst, b, rev)
	}
	return err
}

// conflict reports whether a write failed because the record changed
// since it was read. Single-server streams report it as 10071, which
// ErrKeyExists matches; replicated ones as 10164.
func conflict(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// DropGateways removes from every record the entries of the gateways alive
// does not report alive, and returns how many it removed. The control
// plane calls it for gateways that died without closing their
// connections, whose counts would otherwise hold their instances' quota
// for good. An error leaves the records it did not reach as they were.
func DropGateways(ctx context.Context, kv jetstream.KeyValue, alive func(gw string) bool) (int, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", Bucket, err)
	}
	var insts []string
	for k := range lister.Keys() {
		insts = append(insts, k)
	}
	dropped := 0
	for _, inst := range insts {
		n := 0
		_, err := update(ctx, kv, inst, func(c Counts) bool {
			n = 0
			for gw := range c {
				if !alive(gw) {
					delete(c, gw)
					n++
				}
			}
			return n > 0
		})
		if err != nil {
			return dropped, err
		}
		dropped += n
	}
	return dropped, nil
}
