// Package policies applies RabbitMQ policies to the queues of a storage
// node in the node's own process (`warren serve` and `warren
// storage-node`): it follows the topology mirror and, when a policy that
// applies to one of the node's queues is created, changed or deleted, or
// a queue arrives under a policy, hands the queue its effective spec
// (topology's Queue.EffectiveSpec). Exchanges need nothing here: routing
// reads the alternate exchange of a policy from the mirror's index.
package policies

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
)

// Node is what the applier needs of the storage node.
type Node interface {
	// AppendQueueSpecs appends the declared spec of every queue the node has.
	AppendQueueSpecs(dst []storage.QueueSpec) []storage.QueueSpec
	// QueuesGeneration changes whenever the node gains or loses a queue.
	QueuesGeneration() uint64
	// SetEffective makes the queue spec.ID run with spec's limits and
	// dead-letter target; a queue the node does not have is a 404.
	SetEffective(ctx context.Context, spec storage.QueueSpec) error
}

// Applier keeps a node's queues running with their policies. Its state is
// owned by the goroutine of Run, except mu's fields.
type Applier struct {
	mirror *topokv.Mirror
	node   Node
	log    *slog.Logger
	mu     struct {
		sync.Mutex
		done    uint64        // the mirror revision the last pass covered
		changed chan struct{} // closed and replaced after every pass
	}

	specs   []storage.QueueSpec         // reused by every pass
	applied map[storage.QueueID]applied // what each queue runs with, as far as known
	gen     uint64                      // the mirror's access generation at the last pass
	queues  uint64                      // the node's queues generation at the last pass
	pending bool                        // the last pass left a queue for later
	pass    uint64
}

// applied is a queue's effective spec as last set (or found declared),
// and the pass that last saw the queue, to forget deleted ones.
type applied struct {
	spec storage.QueueSpec
	seen uint64
}

// New makes an applier for node, following mirror.
func New(mirror *topokv.Mirror, node Node, log *slog.Logger) *Applier {
	a := &Applier{mirror: mirror, node: node, log: log, applied: map[storage.QueueID]applied{}}
	a.mu.changed = make(chan struct{})
	return a
}

// Run applies the policies now and after every change of the mirror,
// until ctx ends. A queue whose record the mirror does not hold yet (the
// control plane creates the storage first) is taken up when it arrives.
func (a *Applier) Run(ctx context.Context) {
	for {
		rev := a.mirror.Revision()
		a.Pass(ctx)
		a.covered(rev)
		if err := a.mirror.WaitFor(ctx, rev+1); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("policies: topology mirror failed; policies are no longer followed", "err", err)
			return
		}
	}
}

// WaitFor returns once a pass has covered revision rev of the mirror:
// every queue of the node whose record is at or below rev runs with the
// policies as of rev (but one whose change failed, logged and tried again
// at the next change). It returns ctx's error if ctx ends first, as it
// always does once Run has stopped.
func (a *Applier) WaitFor(ctx context.Context, rev uint64) error {
	for {
		a.mu.Lock()
		done, changed := a.mu.done, a.mu.changed
		a.mu.Unlock()
		if done >= rev {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// covered records that a pass read the mirror at rev or later.
func (a *Applier) covered(rev uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mu.done = max(a.mu.done, rev)
	close(a.mu.changed)
	a.mu.changed = make(chan struct{})
}

// Pass brings every queue of the node to its effective spec. When no
// access record changed since the last pass (policies are access records)
// only the queues not seen before are worked out; the others keep theirs.
// When the node's queues did not change either and the last pass left
// nothing for later, there is nothing to do: the mirror changes with every
// declare or binding of the whole cluster, and a pass copies every queue
// spec of the node.
func (a *Applier) Pass(ctx context.Context) {
	gen := a.mirror.AccessGeneration()  // before reading the policies it covers
	queues := a.node.QueuesGeneration() // before reading the specs it covers
	if a.pass > 0 && gen == a.gen && queues == a.queues && !a.pending {
		return
	}
	all := gen != a.gen
	a.gen, a.queues, a.pending = gen, queues, false
	a.pass++
	a.specs = a.node.AppendQueueSpecs(a.specs[:0])
	for _, declared := range a.specs {
		have, known := a.applied[declared.ID]
		if known && !all {
			have.seen = a.pass
			a.applied[declared.ID] = have
			continue
		}
		if !known {
			have.spec = declared // a queue starts as declared
		}
		a.update(ctx, declared, have.spec)
	}
	for id, s := range a.applied {
		if s.seen != a.pass {
			delete(a.applied, id)
		}
	}
}

// update sets the queue's effective spec if it differs from have. A queue
// missing from the mirror is left for a later pass.
func (a *Applier) update(ctx context.Context, declared, have storage.QueueSpec) {
	want, ok := a.effective(declared)
	if !ok {
		a.pending = true
		return
	}
	if want != have {
		// A 404 is a queue deleted since AppendQueueSpecs: nothing to do.
		if err := a.node.SetEffective(ctx, want); err != nil && !isNotFound(err) {
			if ctx.Err() == nil {
				a.log.Warn("policies: could not apply", "queue", declared.Name, "vhost", declared.VHost, "err", err)
			}
			a.pending = true
			return // tried again at the next change of the mirror
		}
	}
	a.applied[declared.ID] = applied{spec: want, seen: a.pass}
}

// effective is the queue's spec under its policy, from the mirror; ok is
// false when the mirror does not hold the queue (yet).
func (a *Applier) effective(declared storage.QueueSpec) (storage.QueueSpec, bool) {
	inst, ok := a.mirror.QueueInstance(declared.ID)
	if !ok {
		return storage.QueueSpec{}, false
	}
	var want storage.QueueSpec
	var err error
	a.mirror.Read(inst, func(ix *route.Index) {
		q, found := ix.Queue(declared.VHost, declared.Name)
		if !found || q.ID != declared.ID {
			ok = false
			return
		}
		p, _ := ix.QueuePolicy(q)
		want, err = q.EffectiveSpec(p)
	})
	if err != nil { // its arguments were checked at declaration: a corrupt record
		a.log.Warn("policies: queue arguments invalid; kept as declared", "queue", declared.Name, "err", err)
		return declared, ok
	}
	return want, ok
}

func isNotFound(err error) bool {
	var re *reply.Error
	return errors.As(err, &re) && re.Code == reply.NotFound
}
