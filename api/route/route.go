package route

import (
	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/topology"
)

// maxHops bounds exchange-to-exchange and alternate-exchange chains, so a
// cycle or a pathological topology costs a bounded amount of work per message.
const maxHops = 64

// Route returns the queues a message published to exchange with routingKey
// and headers reaches. dst is reused for the result. The CC and BCC headers add
// routing keys (sender-selected distribution); every exchange reached that
// routes nowhere hands the message to its alternate exchange, as
// rabbit_exchange:route/2 does. A missing start exchange routes nowhere; the
// caller checks existence first to send 404.
func (ix *Index) Route(vhost, exchange, routingKey string, headers amqp.Table, dst []*topology.Queue) []*topology.Queue {
	dst = dst[:0]
	keys := routingKeys(routingKey, headers)
	if exchange == "" {
		return ix.routeDefault(vhost, keys, dst)
	}
	r := router{ix: ix, vhost: vhost, keys: keys, headers: headers, dst: dst}
	r.walk(exchange)
	return r.dst
}

// routeDefault is the default exchange: each routing key names a queue.
func (ix *Index) routeDefault(vhost string, keys []string, dst []*topology.Queue) []*topology.Queue {
	for _, k := range keys {
		if q, ok := ix.queues[nameKey{vhost, k}]; ok {
			dst = appendUnique(dst, q)
		}
	}
	return dst
}

type router struct {
	ix      *Index
	vhost   string
	keys    []string
	headers amqp.Table
	dst     []*topology.Queue
	seen    []string // exchanges visited, few enough that a slice beats a map
}

func (r *router) walk(start string) {
	work := []string{start}
	for hops := 0; len(work) > 0 && hops < maxHops; hops++ {
		name := work[0]
		work = work[1:]
		if r.visited(name) {
			continue
		}
		r.seen = append(r.seen, name)
		e, ok := r.ix.exchanges[nameKey{r.vhost, name}]
		if !ok {
			continue
		}
		// As in rabbit_exchange:route1/3, the alternate exchange is used when
		// no binding matched, whether or not the matches lead to a queue.
		routed := false
		e.m.match(r.keys, r.headers, func(b topology.Binding) {
			routed = true
			r.follow(b, &work)
		})
		if !routed && e.ae != "" {
			work = append(work, e.ae)
		}
	}
}

// follow takes one matching binding: a queue joins the result, an exchange
// joins the work list.
func (r *router) follow(b topology.Binding, work *[]string) {
	if b.DestKind == topology.ToExchange {
		*work = append(*work, b.Dest)
		return
	}
	if q, ok := r.ix.queues[nameKey{r.vhost, b.Dest}]; ok {
		r.dst = appendUnique(r.dst, q)
	}
}

func (r *router) visited(name string) bool {
	for _, s := range r.seen {
		if s == name {
			return true
		}
	}
	return false
}

func appendUnique(dst []*topology.Queue, q *topology.Queue) []*topology.Queue {
	for _, have := range dst {
		if have == q {
			return dst
		}
	}
	return append(dst, q)
}

// routingKeys is the routing key plus the CC and BCC header values.
func routingKeys(key string, headers amqp.Table) []string {
	keys := []string{key}
	for _, h := range [...]string{"CC", "BCC"} {
		if list, ok := headers[h].([]any); ok {
			for _, v := range list {
				if s, ok := v.(string); ok {
					keys = append(keys, s)
				}
			}
		}
	}
	return keys
}
