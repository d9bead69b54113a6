package topo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/warrenmq/warren/api/control"
	"github.com/warrenmq/warren/api/reply"
	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

// setQuotas writes the instance record and waits until the mirror has it.
func setQuotas(ctx context.Context, t *testing.T, s *Service, q topology.Quotas) {
	t.Helper()
	val, err := topokv.EncodeInstance(topology.Instance{Name: inst, Quotas: q, Status: topology.Active})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.kv.Put(ctx, topokv.InstanceKey(inst), val)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.mirror.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
}

// Declares racing for the last places of max_queues and max_exchanges
// never pass it, however many come at once: the check and the write are
// one step of the service.
func TestQuotasHoldUnderConcurrentDeclares(t *testing.T) {
	both(t, testQuotasHoldUnderConcurrentDeclares)
}

func testQuotasHoldUnderConcurrentDeclares(t *testing.T, ctx context.Context, s *Service, tp control.Topology) {
	s.SetNodes(StaticNodes{"n1": &queueNode{queues: map[storage.QueueID]bool{}}})
	setQuotas(ctx, t, s, topology.Quotas{MaxQueues: 3, MaxExchanges: 2})
	declared := race(8, func(i int) error {
		_, err := tp.DeclareQueue(ctx, inst, "c1", topology.Queue{VHost: "/", Name: fmt.Sprintf("q%d", i), Durable: true})
		return err
	}, t, "queue limit in vhost '/' (3) is reached")
	if declared != 3 {
		t.Errorf("%d queues declared, quota 3", declared)
	}
	if _, err := tp.DeclareQueue(ctx, inst, "c1", topology.Queue{VHost: "/", Name: "q-again", Durable: true}); code(err) != reply.PreconditionFailed {
		t.Errorf("a fourth queue: %v", err)
	}
	declared = race(6, func(i int) error {
		_, err := tp.DeclareExchange(ctx, inst, topology.Exchange{VHost: "/", Name: fmt.Sprintf("x%d", i), Type: "direct", Durable: true})
		return err
	}, t, "exchange limit of 2 is reached")
	if declared != 2 {
		t.Errorf("%d exchanges declared, quota 2 (the amq.* ones do not count)", declared)
	}
}

// race runs n declares at once and counts those that succeed; each
// refusal must be a 406 whose text ends as want.
func race(n int, declare func(i int) error, t *testing.T, want string) int {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = declare(i) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case code(err) != reply.PreconditionFailed || !strings.HasSuffix(err.Error(), want):
			t.Errorf("refused with %v, want 406 ending %q", err, want)
		}
	}
	return ok
}

// At the limit a redeclare of an existing queue or exchange still passes,
// and a raised quota applies to the next declare.
func TestQuotaKeepsRedeclaresAndFollowsChanges(t *testing.T) {
	s, ctx := newService(t)
	s.SetNodes(StaticNodes{"n1": &queueNode{queues: map[storage.QueueID]bool{}}})
	setQuotas(ctx, t, s, topology.Quotas{MaxQueues: 1})
	q := topology.Queue{VHost: "/", Name: "only", Durable: true}
	for range 2 {
		if _, err := s.DeclareQueue(ctx, inst, "c1", q); err != nil {
			t.Fatalf("declare or redeclare at the limit: %v", err)
		}
	}
	_, err := s.DeclareQueue(ctx, inst, "c1", topology.Queue{VHost: "/", Name: "second", Durable: true})
	if !errorsIsQuota(err) {
		t.Fatalf("a second queue: %v, want ErrQuota", err)
	}
	setQuotas(ctx, t, s, topology.Quotas{MaxQueues: 2})
	if _, err := s.DeclareQueue(ctx, inst, "c1", topology.Queue{VHost: "/", Name: "second", Durable: true}); err != nil {
		t.Fatalf("after raising the quota: %v", err)
	}
}

func errorsIsQuota(err error) bool { return err != nil && errors.Is(err, ErrQuota) }
