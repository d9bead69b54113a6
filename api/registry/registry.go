// Package registry is how Warren's services find each other: storage nodes
// and gateways register in a NATS KV bucket and refresh their entry on a
// heartbeat; anyone watching the bucket sees which are up. An entry whose
// heartbeat is older than its TTL counts as down, so a SIGKILLed service is
// noticed without its cooperation.
package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/alarm"
)

// Bucket holds one key per registered service.
const Bucket = "warren-registry"

// Kinds of service.
const (
	StorageNode  = "storage-node"
	Gateway      = "gateway"
	ControlPlane = "control-plane"
)

// Entry describes one running service.
type Entry struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Addr      string    `json:"addr"` // where its gRPC service listens; empty for gateways
	Heartbeat time.Time `json:"heartbeat"`
	// TTL is how long the entry counts as alive after Heartbeat.
	TTL time.Duration `json:"ttl"`
	// Bytes is what a storage node holds on disk, as of Heartbeat: the
	// control plane balances queue placement by it.
	Bytes uint64 `json:"bytes,omitempty"`
	// Alarms are a storage node's resource alarms as of Heartbeat, for the
	// gateways that start after a change or missed its announcement.
	Alarms alarm.Status `json:"alarms,omitzero"`
}

// Alive reports whether the entry's heartbeat is recent enough at now.
func (e Entry) Alive(now time.Time) bool { return now.Sub(e.Heartbeat) <= e.TTL }

// key is the entry's KV key. Names such as "10.0.0.5:7001" hold characters
// KV keys may not, so the name is base64url-encoded; List reads names from
// the values.
func key(kind, name string) string {
	return kind + ".n" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// OpenBucket creates the registry bucket if needed.
func OpenBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Register writes e and refreshes it every interval until ctx ends; the
// entry lives for three intervals after each refresh. The first write
// happens before Register returns, so a caller can rely on being visible.
func Register(ctx context.Context, kv jetstream.KeyValue, e Entry, interval time.Duration, log *slog.Logger) error {
	return RegisterWith(ctx, kv, e, interval, nil, log)
}

// RegisterWith is Register with update, when not nil, refreshing the
// entry's figures (Bytes, Alarms) before every heartbeat.
func RegisterWith(ctx context.Context, kv jetstream.KeyValue, e Entry, interval time.Duration, update func(*Entry), log *slog.Logger) error {
	e.TTL = 3 * interval
	if update != nil {
		update(&e)
	}
	if err := put(ctx, kv, e); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if update != nil {
					update(&e)
				}
				if err := putWithin(ctx, kv, e, interval); err != nil && ctx.Err() == nil {
					log.Warn("registry heartbeat failed", "kind", e.Kind, "name", e.Name, "err", err)
				}
			}
		}
	}()
	return nil
}

// putWithin is put bounded by d, a heartbeat interval: a put stuck while
// NATS is away would otherwise swallow the ticks after it, and the entry,
// stamped before the outage, would age past its TTL before the next put
// once NATS is back.
func putWithin(ctx context.Context, kv jetstream.KeyValue, e Entry, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return put(ctx, kv, e)
}

func put(ctx context.Context, kv jetstream.KeyValue, e Entry) error {
	e.Heartbeat = time.Now()
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, key(e.Kind, e.Name), b); err != nil {
		return fmt.Errorf("register %s %s: %w", e.Kind, e.Name, err)
	}
	return nil
}

// Deregister removes an entry at once, for an orderly shutdown.
func Deregister(ctx context.Context, kv jetstream.KeyValue, kind, name string) error {
	return kv.Delete(ctx, key(kind, name))
}

// Lookup returns the entry of one service; ok is false when it has none.
func Lookup(ctx context.Context, kv jetstream.KeyValue, kind, name string) (e Entry, ok bool, err error) {
	v, err := kv.Get(ctx, key(kind, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("read %s %s: %w", kind, name, err)
	}
	if err := json.Unmarshal(v.Value(), &e); err != nil {
		return Entry{}, false, fmt.Errorf("decode %s %s: %w", kind, name, err)
	}
	return e, true, nil
}

// List returns the entries of a kind that are alive now.
func List(ctx context.Context, kv jetstream.KeyValue, kind string) ([]Entry, error) {
	all, err := Entries(ctx, kv, kind)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := all[:0]
	for _, e := range all {
		if e.Alive(now) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Entries returns every entry of a kind, alive or not: entries are removed
// only by Deregister, so one whose heartbeat stopped stays listed here.
func Entries(ctx context.Context, kv jetstream.KeyValue, kind string) ([]Entry, error) {
	lister, err := kv.ListKeysFiltered(ctx, kind+".>")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	var out []Entry
	for k := range lister.Keys() {
		v, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil { // a partial list would pass for a node gone
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		var e Entry
		if json.Unmarshal(v.Value(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}
