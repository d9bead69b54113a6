package conn

import "testing"

// A confirmed batch gives its pooled publish buffers back only when every
// node it went to copied the publishes, and never those of a publish that
// was routed nowhere (a direct reply-to may hold its bytes).
func TestRecycleBodies(t *testing.T) {
	newReq := func(targets int) *pubReq {
		b := bodyPool.Get(64)
		return &pubReq{buf: b, targets: make([]target, targets)}
	}
	for _, tc := range []struct {
		name   string
		copied []bool
		want   bool // the routed publish's buffer is given back
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
			if got := routed.buf == nil; got != tc.want {
				t.Errorf("routed publish's buffer given back: %v, want %v", got, tc.want)
			}
			if unrouted.buf == nil {
				t.Error("the buffer of a publish routed nowhere was given back")
			}
		})
	}
}
