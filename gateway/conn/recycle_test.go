package conn

import "testing"

// A confirmed batch gives its pooled publish buffers back, routed or not,
// only when every node it went to copied the publishes.
func TestRecycleBodies(t *testing.T) {
	newReq := func(targets int) *pubReq {
		return &pubReq{buf: bodyPool.Get(64), targets: make([]target, targets)}
	}
	for _, tc := range []struct {
		name   string
		copied []bool
		want   bool // the buffers are given back
	}{
		{"remote nodes", []bool{true, true}, true},
		{"a node that keeps them", []bool{true, false}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			routed, unrouted := newReq(1), newReq(0)
			sb := &startedBatch{batch: []*pubReq{routed, unrouted}}
			for _, c := range tc.copied {
				sb.nodes = append(sb.nodes, &nodeBatch{copied: c})
			}
			sb.recycleBodies()
			for _, r := range sb.batch {
				if got := r.buf == nil; got != tc.want {
					t.Errorf("publish with %d targets: buffer given back %v, want %v", len(r.targets), got, tc.want)
				}
			}
		})
	}
}
