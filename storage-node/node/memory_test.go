package node

import (
	"fmt"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// TestDeepQueueBoundedMemory fills queues far beyond the cache: the
// backlog goes to disk, cached bytes stay within the budget, and every
// message comes back in order.
func TestDeepQueueBoundedMemory(t *testing.T) {
	const cache = 256 << 10
	n, _ := testNode(t, Options{CacheBytes: cache, QueueCacheBytes: 128 << 10, QueueMinCacheBytes: 16 << 10})
	mustCreate(t, n, spec(1, "transient"))
	mustCreate(t, n, durable(2, "durable"))
	mustCreate(t, n, durable(3, "mixed"))
	body := strings.Repeat("x", 200)
	const total = 20000
	var maxCached int64
	for b := 0; b < total/100; b++ {
		var batch []storage.Publish
		for i := range 100 {
			k := b*100 + i
			m := func(p bool) *storage.Message { return message(fmt.Sprintf("%06d%s", k, body), p) }
			batch = append(batch,
				storage.Publish{Queues: []storage.QueueID{1}, Msg: m(false)},
				storage.Publish{Queues: []storage.QueueID{2}, Msg: m(true)},
				storage.Publish{Queues: []storage.QueueID{3}, Msg: m(k%2 == 0)})
		}
		if _, err := n.Append(bg, batch); err != nil {
			t.Fatal(err)
		}
		syncShards(t, n)
		maxCached = max(maxCached, n.Metrics().CachedBytes)
	}
	// the budget, plus each queue's guaranteed minimum, plus one message
	if limit := int64(cache + 3*(16<<10) + 1024); maxCached > limit {
		t.Fatalf("cached %d bytes, budget %d", maxCached, limit)
	}
	m := n.Metrics()
	if m.Spilled == 0 || m.Ready != 3*total {
		t.Fatalf("metrics %+v", m)
	}
	for q := storage.QueueID(1); q <= 3; q++ {
		got := drain(t, n, q)
		for i, d := range got {
			if want := fmt.Sprintf("%06d", i); string(d.Msg.Body[:6]) != want {
				t.Fatalf("queue %d: delivery %d is %s", q, i, d.Msg.Body[:6])
			}
		}
	}
	if m := n.Metrics(); m.Loads == 0 || m.CachedBytes != 0 {
		t.Fatalf("after draining: %+v", m)
	}
}
