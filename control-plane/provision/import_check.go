package provision

import (
	"cmp"

	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/warrenmq/warren/api/route"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
	"github.com/warrenmq/warren/control-plane/definitions"
)

// importView is the instance as it will be after an import, for the
// checks that span entries: the names the file and the instance hold.
type importView struct {
	vhosts    map[string]bool
	newVHosts map[string]bool
	users     map[string]bool
	exchanges map[[2]string]topology.Exchange // by vhost, name
	queues    map[[2]string]bool
	newX      int
	newQ      int
}

// checkImport checks the file against the instance; the first refusal
// is returned with the code a single call would give.
func (s *Service) checkImport(i topology.Instance, m *definitions.Model) error {
	v := s.importView(i.Name, m)
	for _, check := range []func() error{
		func() error { return s.checkImportQuotas(i, v) },
		func() error { return v.checkReferences(m) },
		func() error { return s.checkRedeclares(i.Name, m) },
		func() error { return v.checkBindings(m) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) importView(inst string, m *definitions.Model) *importView {
	v := &importView{vhosts: map[string]bool{}, newVHosts: map[string]bool{}, users: map[string]bool{},
		exchanges: map[[2]string]topology.Exchange{}, queues: map[[2]string]bool{}}
	s.mirror.Read(inst, func(ix *route.Index) {
		ix.VHosts(func(vh topology.VHost) { v.vhosts[vh.Name] = true })
		ix.Exchanges(func(x topology.Exchange) { v.exchanges[[2]string{x.VHost, x.Name}] = x })
		ix.Queues(func(q *topology.Queue) { v.queues[[2]string{q.VHost, q.Name}] = true })
	})
	s.mirror.ReadAccess(inst, func(a *topokv.Access) { a.Users(func(u topology.User) { v.users[u.Name] = true }) })
	v.add(m)
	return v
}

// add counts in what the file creates.
func (v *importView) add(m *definitions.Model) {
	for _, vh := range m.VHosts {
		if !v.vhosts[vh.Name] {
			v.vhosts[vh.Name], v.newVHosts[vh.Name] = true, true
			for _, x := range topology.SystemExchanges(vh.Name) {
				v.exchanges[[2]string{x.VHost, x.Name}] = x
			}
		}
	}
	for _, u := range m.Users {
		v.users[u.Name] = true
	}
	for _, x := range m.Exchanges {
		if _, ok := v.exchanges[[2]string{x.VHost, x.Name}]; !ok {
			v.exchanges[[2]string{x.VHost, x.Name}] = x
			v.newX++
		}
	}
	for _, q := range m.Queues {
		if !v.queues[[2]string{q.VHost, q.Name}] {
			v.queues[[2]string{q.VHost, q.Name}] = true
			v.newQ++
		}
	}
}

func (s *Service) checkImportQuotas(i topology.Instance, v *importView) error {
	q := i.Quotas
	count := func(kind string, limit uint32, adding int, have func() int) error {
		if limit == 0 || adding == 0 {
			return nil
		}
		if n := have(); n+adding > int(limit) {
			return status.Errorf(codes.ResourceExhausted, "instance %q has %d %s and the import adds %d; its quota is %d",
				i.Name, n, kind, adding, limit)
		}
		return nil
	}
	var nv, nx, nq int
	s.mirror.Read(i.Name, func(ix *route.Index) {
		ix.VHosts(func(topology.VHost) { nv++ })
		ix.Exchanges(func(x topology.Exchange) {
			if !topology.IsSystemExchange(x.Name) {
				nx++
			}
		})
		ix.Queues(func(*topology.Queue) { nq++ })
	})
	return cmp.Or(count("vhosts", q.MaxVHosts, len(v.newVHosts), func() int { return nv }),
		count("exchanges", q.MaxExchanges, v.newX, func() int { return nx }),
		count("queues", q.MaxQueues, v.newQ, func() int { return nq }))
}

// checkReferences refuses entries in a vhost, or for a user, that will
// not exist.
func (v *importView) checkReferences(m *definitions.Model) error {
	for _, p := range m.Permissions {
		if !v.vhosts[p.VHost] {
			return notFound("permission for user %q: vhost %q not found", p.User, p.VHost)
		}
		if !v.users[p.User] {
			return notFound("permission in vhost %q: user %q not found", p.VHost, p.User)
		}
	}
	for _, vh := range append(append(vhostsOf(m.Policies, func(p topology.Policy) string { return p.VHost }),
		vhostsOf(m.Exchanges, func(x topology.Exchange) string { return x.VHost })...),
		vhostsOf(m.Queues, func(q topology.Queue) string { return q.VHost })...) {
		if !v.vhosts[vh] {
			return notFound("vhost %q not found", vh)
		}
	}
	return nil
}

func vhostsOf[T any](list []T, vhost func(T) string) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, vhost(e))
	}
	return out
}

func notFound(format string, args ...any) error {
	return status.Errorf(codes.NotFound, "definitions: "+format, args...)
}

// checkRedeclares refuses exchanges and queues that exist with other
// properties (RabbitMQ's 406 inequivalent arg), exclusive queues, and an
// entry the file repeats with other properties.
func (s *Service) checkRedeclares(inst string, m *definitions.Model) error {
	var err error
	s.mirror.Read(inst, func(ix *route.Index) {
		xs := map[[2]string]topology.Exchange{}
		for _, x := range m.Exchanges {
			have, ok := ix.Exchange(x.VHost, x.Name)
			if !ok {
				have, ok = xs[[2]string{x.VHost, x.Name}]
			}
			if ok && err == nil {
				err = topology.EquivalentExchange(have, x)
			}
			xs[[2]string{x.VHost, x.Name}] = x
		}
		qs := map[[2]string]*topology.Queue{}
		for _, q := range m.Queues {
			have, ok := ix.Queue(q.VHost, q.Name)
			if !ok {
				have, ok = qs[[2]string{q.VHost, q.Name}]
			}
			if ok && err == nil {
				err = cmp.Or(topology.CheckExclusive(have, ""), topology.EquivalentQueue(*have, q))
			}
			qs[[2]string{q.VHost, q.Name}] = &q
		}
	})
	if err != nil {
		return status.Error(codes.FailedPrecondition, "definitions: "+replyText(err))
	}
	return nil
}

// checkBindings refuses bindings whose ends will not exist, and headers
// bindings with a bad x-match.
func (v *importView) checkBindings(m *definitions.Model) error {
	for _, b := range m.Bindings {
		src, ok := v.exchanges[[2]string{b.VHost, b.Source}]
		if !ok {
			return notFound("binding: source exchange %q in vhost %q not found", b.Source, b.VHost)
		}
		if src.Type == topology.Headers {
			if err := topology.CheckXMatch(b.Args); err != nil {
				return status.Error(codes.InvalidArgument, "definitions: "+replyText(err))
			}
		}
		_, isX := v.exchanges[[2]string{b.VHost, b.Dest}]
		if (b.DestKind == topology.ToExchange && !isX) || (b.DestKind == topology.ToQueue && !v.queues[[2]string{b.VHost, b.Dest}]) {
			return notFound("binding: destination %s %q in vhost %q not found", b.DestKind, b.Dest, b.VHost)
		}
	}
	return nil
}

// sortModel orders an export as RabbitMQ's listings are ordered: by
// vhost, then name.
func sortModel(m *definitions.Model) {
	slices.SortFunc(m.VHosts, func(a, b topology.VHost) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(m.Users, func(a, b topology.User) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(m.Permissions, func(a, b topology.Permission) int {
		return cmp.Or(cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.User, b.User))
	})
	slices.SortFunc(m.Exchanges, func(a, b topology.Exchange) int {
		return cmp.Or(cmp.Compare(a.VHost, b.VHost), cmp.Compare(a.Name, b.Name))
	})
}
