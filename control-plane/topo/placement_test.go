package topo

import "testing"

func TestLeastLoadedBalancesQueuesAndBytes(t *testing.T) {
	bytes := func(m map[string]uint64) func(string) uint64 { return func(n string) uint64 { return m[n] } }
	names := []string{"a", "b", "c"}
	cases := []struct {
		name   string
		queues map[string]int
		bytes  map[string]uint64
		want   string
	}{
		{"empty cluster: first by name", nil, nil, "a"},
		{"fewest queues when bytes are even", map[string]int{"a": 3, "b": 1, "c": 2}, nil, "b"},
		{"a full disk outweighs a queue less", map[string]int{"a": 2, "b": 1, "c": 2},
			map[string]uint64{"a": 10 << 30, "b": 900 << 30, "c": 10 << 30}, "a"},
		{"even queues: fewest bytes", map[string]int{"a": 2, "b": 2, "c": 2},
			map[string]uint64{"a": 5 << 20, "b": 4 << 20, "c": 6 << 20}, "b"},
		{"megabytes of noise do not outweigh queue counts", map[string]int{"a": 4, "b": 6, "c": 5},
			map[string]uint64{"a": 60 << 20, "b": 2 << 20, "c": 30 << 20}, "a"},
	}
	for _, c := range cases {
		if got := leastLoaded(names, c.queues, bytes(c.bytes)); got != c.want {
			t.Errorf("%s: placed on %s, want %s", c.name, got, c.want)
		}
	}
}
