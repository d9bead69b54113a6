// Package route is the pure routing function over a topology: given an
// exchange, a routing key and headers, it returns the queues a message goes to,
// following exchange-to-exchange bindings, alternate exchanges and the CC/BCC
// headers as RabbitMQ does. Gateways route publishes with it and storage nodes
// route dead letters with it. An Index is not safe for concurrent mutation;
// its owner guards it.
package route

import (
	"github.com/warrenmq/warren/api/topology"
)

type nameKey struct{ vhost, name string }

// Index is an in-memory copy of one instance's topology, organised for routing.
type Index struct {
	vhosts    map[string]topology.VHost
	exchanges map[nameKey]*exchangeEntry
	queues    map[nameKey]*topology.Queue
	// bindingsTo counts bindings per destination, to find a queue's bindings on delete.
	bindingsTo map[destKey]map[string]topology.Binding
	policies   *topology.PolicySet // nil: none
}

type destKey struct {
	vhost string
	kind  topology.DestKind
	name  string
}

type exchangeEntry struct {
	x        topology.Exchange
	ae       string                      // the alternate exchange, policies applied
	bindings map[string]topology.Binding // by binding ID
	m        matcher                     // rebuilt when bindings change
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		vhosts:     map[string]topology.VHost{},
		exchanges:  map[nameKey]*exchangeEntry{},
		queues:     map[nameKey]*topology.Queue{},
		bindingsTo: map[destKey]map[string]topology.Binding{},
	}
}

// PutVHost adds or replaces a vhost.
func (ix *Index) PutVHost(v topology.VHost) { ix.vhosts[v.Name] = v }

// DeleteVHost removes a vhost record (its contents are removed by their own keys).
func (ix *Index) DeleteVHost(name string) { delete(ix.vhosts, name) }

// VHost reports whether the vhost exists.
func (ix *Index) VHost(name string) bool { _, ok := ix.vhosts[name]; return ok }

// VHostRecord returns a vhost with its metadata.
func (ix *Index) VHostRecord(name string) (topology.VHost, bool) {
	v, ok := ix.vhosts[name]
	return v, ok
}

// VHosts calls fn for every vhost, in no order.
func (ix *Index) VHosts(fn func(topology.VHost)) {
	for _, v := range ix.vhosts {
		fn(v)
	}
}

// PutExchange adds or replaces an exchange, keeping its bindings.
func (ix *Index) PutExchange(x topology.Exchange) {
	k := nameKey{x.VHost, x.Name}
	if e, ok := ix.exchanges[k]; ok {
		e.x = x
		e.ae = ix.alternateOf(x)
		e.m = newMatcher(x.Type, e.bindings)
		return
	}
	e := &exchangeEntry{x: x, ae: ix.alternateOf(x), bindings: map[string]topology.Binding{}}
	e.m = newMatcher(x.Type, e.bindings)
	ix.exchanges[k] = e
}

// DeleteExchange removes an exchange. Its bindings are removed by their own
// KV deletes; routing ignores bindings to exchanges that no longer exist.
func (ix *Index) DeleteExchange(vhost, name string) {
	delete(ix.exchanges, nameKey{vhost, name})
}

// Exchange returns an exchange, if declared.
func (ix *Index) Exchange(vhost, name string) (topology.Exchange, bool) {
	e, ok := ix.exchanges[nameKey{vhost, name}]
	if !ok {
		return topology.Exchange{}, false
	}
	return e.x, true
}

// PutQueue adds or replaces a queue.
func (ix *Index) PutQueue(q topology.Queue) {
	qq := q
	ix.queues[nameKey{q.VHost, q.Name}] = &qq
}

// DeleteQueue removes a queue.
func (ix *Index) DeleteQueue(vhost, name string) { delete(ix.queues, nameKey{vhost, name}) }

// Queue returns a queue, if declared. The pointer stays valid and unchanged
// for as long as the caller holds it; a redeclare stores a new one.
func (ix *Index) Queue(vhost, name string) (*topology.Queue, bool) {
	q, ok := ix.queues[nameKey{vhost, name}]
	return q, ok
}

// PutBinding adds a binding under its ID.
func (ix *Index) PutBinding(id string, b topology.Binding) {
	e, ok := ix.exchanges[nameKey{b.VHost, b.Source}]
	if !ok {
		// The source exchange's record may arrive after the binding's (KV watch
		// order follows write order, so this means the exchange was deleted).
		return
	}
	e.bindings[id] = b
	e.m = newMatcher(e.x.Type, e.bindings)
	dk := destKey{b.VHost, b.DestKind, b.Dest}
	if ix.bindingsTo[dk] == nil {
		ix.bindingsTo[dk] = map[string]topology.Binding{}
	}
	ix.bindingsTo[dk][id] = b
}

// DeleteBinding removes a binding by its ID.
func (ix *Index) DeleteBinding(id string, b topology.Binding) {
	if e, ok := ix.exchanges[nameKey{b.VHost, b.Source}]; ok {
		if _, had := e.bindings[id]; had {
			delete(e.bindings, id)
			e.m = newMatcher(e.x.Type, e.bindings)
		}
	}
	dk := destKey{b.VHost, b.DestKind, b.Dest}
	delete(ix.bindingsTo[dk], id)
	if len(ix.bindingsTo[dk]) == 0 {
		delete(ix.bindingsTo, dk)
	}
}

// BindingsFrom lists the bindings whose source is the exchange.
func (ix *Index) BindingsFrom(vhost, exchange string) map[string]topology.Binding {
	if e, ok := ix.exchanges[nameKey{vhost, exchange}]; ok {
		return e.bindings
	}
	return nil
}

// BindingsTo lists the bindings whose destination is the queue or exchange.
func (ix *Index) BindingsTo(vhost string, kind topology.DestKind, name string) map[string]topology.Binding {
	return ix.bindingsTo[destKey{vhost, kind, name}]
}

// Queues calls fn for every queue.
func (ix *Index) Queues(fn func(*topology.Queue)) {
	for _, q := range ix.queues {
		fn(q)
	}
}

// Exchanges calls fn for every exchange.
func (ix *Index) Exchanges(fn func(topology.Exchange)) {
	for _, e := range ix.exchanges {
		fn(e.x)
	}
}
