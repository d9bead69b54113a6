package tier

import (
	"strings"
	"testing"

	"github.com/warrenmq/warren/storage-node/queue"
)

// A Merge given a bound past Avail's must not go past a segment that
// isn't cached: Pebble no longer holds those records, so the Load would
// skip them for good.
func TestMergeStopsAtTheBound(t *testing.T) {
	e := newEnv(1, 1, Config{QueueHotBytes: 1, MinSegmentBytes: 1})
	e.out = &strings.Builder{}
	e.append(0, queue.Durable, 2, 10) // 1, 2: uploaded below
	e.pick(false)
	e.upload()
	e.commit(nil, false)
	e.append(0, queue.Durable, 2, 10) // 3, 4: hot

	kinds := queue.StoredMask(1 << queue.Durable)
	recs := e.dbLoad(0, 1, noBound, kinds, 10, 1<<20)
	got := e.t.Merge(0, kinds, 1, noBound, recs, 10, 1<<20, nil)
	if len(got) != 0 {
		t.Fatalf("Merge past the bound returned %v; want nothing before 1 and 2 are cached", ids(got))
	}
	if avail, err := e.t.Avail(0, kinds, 1); avail != 1 || err != nil {
		t.Fatalf("Avail after it = %d, %v; want 1: the lane still has 1 and 2 to read", avail, err)
	}
}
