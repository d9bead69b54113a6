package route

import (
	"slices"
	"testing"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/topology"
)

func TestTopicMatch(t *testing.T) {
	cases := []struct {
		pattern, key string
		want         bool
	}{
		{"a.b", "a.b", true},
		{"a.*", "a.b", true},
		{"a.*", "a", false},
		{"a.*", "a.b.c", false},
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"#", "", true},
		{"#", "a.b", true},
		{"#.a", "a", true},
		{"#.a", "x.y.a", true},
		{"#.a", "x.a.y", false},
		{"*.a.#", "x.a", true},
		{"*.a.#", "a", false},
		{"a.#.b", "a.b", true},
		{"a.#.b", "a.x.y.b", true},
		{"a.#.b", "a.x.y", false},
		{"*", "", false}, // the empty key has no words
		{"", "", true},
		{"a..b", "a..b", true},
		{"#.#", "a", true},
	}
	for _, c := range cases {
		got := topicMatch(splitWords(c.pattern), splitWords(c.key))
		if got != c.want {
			t.Errorf("topic %q vs %q = %v, want %v", c.pattern, c.key, got, c.want)
		}
	}
}

func splitWords(s string) []string { return topicWords(s) }

func TestHeadersMatch(t *testing.T) {
	headers := amqp.Table{"format": "pdf", "type": "report", "x-tag": "v", "size": int32(7)}
	cases := []struct {
		name string
		args amqp.Table
		want bool
	}{
		{"all matches", amqp.Table{"format": "pdf", "type": "report"}, true},
		{"all default mode", amqp.Table{"format": "pdf", "type": "log"}, false},
		{"all explicit", amqp.Table{"x-match": "all", "format": "pdf", "type": "log"}, false},
		{"any one matches", amqp.Table{"x-match": "any", "format": "zip", "type": "report"}, true},
		{"any none", amqp.Table{"x-match": "any", "format": "zip"}, false},
		{"all ignores x- keys", amqp.Table{"format": "pdf", "x-tag": "other"}, true},
		{"all-with-x checks x- keys", amqp.Table{"x-match": "all-with-x", "format": "pdf", "x-tag": "other"}, false},
		{"any-with-x on x- key", amqp.Table{"x-match": "any-with-x", "x-tag": "v"}, true},
		{"any ignores x- keys", amqp.Table{"x-match": "any", "x-tag": "v"}, false},
		{"void value is presence", amqp.Table{"format": nil}, true},
		{"integer widths compare by value", amqp.Table{"size": int64(7)}, true},
		{"missing header", amqp.Table{"absent": "x"}, false},
		{"all with no keys", amqp.Table{}, true},
	}
	for _, c := range cases {
		if got := headersMatch(c.args, headers); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// fixture builds an index from exchanges, queues and bindings.
func fixture(t *testing.T, xs []topology.Exchange, qs []string, bs []topology.Binding) *Index {
	t.Helper()
	ix := NewIndex()
	ix.PutVHost(topology.VHost{Name: "/"})
	for _, x := range topology.SystemExchanges("/") {
		ix.PutExchange(x)
	}
	for _, x := range xs {
		x.VHost = "/"
		ix.PutExchange(x)
	}
	for _, q := range qs {
		ix.PutQueue(topology.Queue{VHost: "/", Name: q})
	}
	for i, b := range bs {
		b.VHost = "/"
		if b.DestKind == "" {
			b.DestKind = topology.ToQueue
		}
		ix.PutBinding(string(rune('a'+i)), b)
	}
	return ix
}

func names(qs []*topology.Queue) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.Name
	}
	slices.Sort(out)
	return out
}

func TestRoute(t *testing.T) {
	ix := fixture(t,
		[]topology.Exchange{
			{Name: "d", Type: topology.Direct, AlternateExchange: "ae"},
			{Name: "ae", Type: topology.Fanout},
			{Name: "t", Type: topology.Topic},
			{Name: "e2e", Type: topology.Fanout},
			{Name: "loop1", Type: topology.Fanout},
			{Name: "loop2", Type: topology.Fanout},
		},
		[]string{"q1", "q2", "unrouted", "fromT", "loopq"},
		[]topology.Binding{
			{Source: "d", Dest: "q1", Key: "k1"},
			{Source: "d", Dest: "q2", Key: "k2"},
			{Source: "d", Dest: "q1", Key: "k2"},
			{Source: "ae", Dest: "unrouted"},
			{Source: "e2e", Dest: "t", DestKind: topology.ToExchange},
			{Source: "t", Dest: "fromT", Key: "a.*"},
			{Source: "loop1", Dest: "loop2", DestKind: topology.ToExchange},
			{Source: "loop2", Dest: "loop1", DestKind: topology.ToExchange},
			{Source: "loop2", Dest: "loopq"},
		})
	cases := []struct {
		name, exchange, key string
		headers             amqp.Table
		want                []string
	}{
		{"direct", "d", "k1", nil, []string{"q1"}},
		{"direct two bindings one queue each", "d", "k2", nil, []string{"q1", "q2"}},
		{"alternate exchange on no match", "d", "nope", nil, []string{"unrouted"}},
		{"default exchange by name", "", "q2", nil, []string{"q2"}},
		{"default exchange missing queue", "", "zzz", nil, nil},
		{"exchange to exchange", "e2e", "a.b", nil, []string{"fromT"}},
		{"CC adds keys", "d", "k1", amqp.Table{"CC": []any{"k2"}}, []string{"q1", "q2"}},
		{"BCC adds keys", "d", "nope", amqp.Table{"BCC": []any{"k1"}}, []string{"q1"}},
		{"cycle terminates", "loop1", "", nil, []string{"loopq"}},
		{"missing exchange routes nowhere", "missing", "k", nil, nil},
	}
	for _, c := range cases {
		got := names(ix.Route("/", c.exchange, c.key, c.headers, nil))
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDeleteBindingStopsRouting(t *testing.T) {
	ix := fixture(t, []topology.Exchange{{Name: "f", Type: topology.Fanout}}, []string{"q"}, nil)
	b := topology.Binding{VHost: "/", Source: "f", DestKind: topology.ToQueue, Dest: "q"}
	ix.PutBinding("id", b)
	if got := names(ix.Route("/", "f", "", nil, nil)); !slices.Equal(got, []string{"q"}) {
		t.Fatalf("before delete: %v", got)
	}
	ix.DeleteBinding("id", b)
	if got := ix.Route("/", "f", "", nil, nil); len(got) != 0 {
		t.Fatalf("after delete: %v", names(got))
	}
	if len(ix.BindingsTo("/", topology.ToQueue, "q")) != 0 {
		t.Fatal("bindingsTo not cleaned")
	}
}

func BenchmarkRouteDirect(b *testing.B) {
	ix := NewIndex()
	ix.PutExchange(topology.Exchange{VHost: "/", Name: "", Type: topology.Direct})
	ix.PutQueue(topology.Queue{VHost: "/", Name: "perf-0"})
	var buf []*topology.Queue
	b.ReportAllocs()
	for b.Loop() {
		buf = ix.Route("/", "", "perf-0", nil, buf)
	}
}
