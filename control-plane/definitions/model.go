package definitions

import (
	"errors"
	"fmt"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/passhash"
	"github.com/warrenmq/warren/api/topology"
)

// Model is a definitions file as the topology model: what an import
// writes and what an export reads.
type Model struct {
	VHosts      []topology.VHost
	Users       []topology.User
	Permissions []topology.Permission
	Policies    []topology.Policy
	Exchanges   []topology.Exchange
	Queues      []topology.Queue
	Bindings    []topology.Binding
}

// maxErrors bounds how many problems one refusal lists.
const maxErrors = 20

// problems collects an entry's errors with where they are.
type problems []error

func (p *problems) add(section string, i int, err error) {
	if err != nil && len(*p) < maxErrors {
		*p = append(*p, fmt.Errorf("%s[%d]: %w", section, i, err))
	}
}

// Model converts the file's entries, checking each on its own: names,
// password hashes, tags, patterns, exchange types, arguments. It returns
// every problem found (up to maxErrors), or the model.
func (f *File) Model() (*Model, error) {
	var m Model
	var errs problems
	for i, v := range f.VHosts {
		vh, err := v.model()
		errs.add("vhosts", i, err)
		m.VHosts = append(m.VHosts, vh)
	}
	for i, u := range f.Users {
		tu, err := u.model()
		errs.add("users", i, err)
		m.Users = append(m.Users, tu)
	}
	for i, p := range f.Permissions {
		tp := topology.Permission{VHost: p.VHost, User: p.User, Configure: p.Configure, Write: p.Write, Read: p.Read}
		errs.add("permissions", i, topology.CheckPermission(tp))
		m.Permissions = append(m.Permissions, tp)
	}
	for i, p := range f.Policies {
		tp := topology.Policy{VHost: p.VHost, Name: p.Name, Pattern: p.Pattern, ApplyTo: orAll(p.ApplyTo),
			Priority: p.Priority, Definition: p.Definition}
		errs.add("policies", i, topology.CheckPolicy(tp))
		m.Policies = append(m.Policies, tp)
	}
	f.topologyModel(&m, &errs)
	return &m, errors.Join(errs...)
}

func (f *File) topologyModel(m *Model, errs *problems) {
	for i, x := range f.Exchanges {
		tx, err := x.model()
		errs.add("exchanges", i, err)
		m.Exchanges = append(m.Exchanges, tx)
	}
	for i, q := range f.Queues {
		tq, err := q.model()
		errs.add("queues", i, err)
		m.Queues = append(m.Queues, tq)
	}
	for i, b := range f.Bindings {
		tb, err := b.model()
		errs.add("bindings", i, err)
		m.Bindings = append(m.Bindings, tb)
	}
}

func orAll(applyTo string) string {
	if applyTo == "" {
		return topology.ApplyToAll
	}
	return applyTo
}

func (v VHost) model() (topology.VHost, error) {
	out := topology.VHost{Name: v.Name, Description: v.Description, Tags: v.Tags}
	if v.Metadata != nil {
		out.Description, out.Tags = v.Metadata.Description, v.Metadata.Tags
	}
	return out, errors.Join(topology.CheckEntityName("vhost", out.Name),
		topology.CheckDescription(out.Description), topology.CheckTags(out.Tags))
}

// model keeps the hash as exported; a user without one cannot log in with
// a password, as in RabbitMQ.
func (u User) model() (topology.User, error) {
	out := topology.User{Name: u.Name, PasswordHash: u.PasswordHash, HashingAlgorithm: u.HashingAlgorithm, Tags: u.Tags}
	if out.HashingAlgorithm == "" {
		out.HashingAlgorithm = passhash.SHA256
	}
	var hashErr error
	if out.PasswordHash != "" {
		hashErr = passhash.Check(out.HashingAlgorithm, out.PasswordHash)
	}
	return out, errors.Join(topology.CheckEntityName("user", out.Name), topology.CheckTags(out.Tags), hashErr)
}

func (x Exchange) model() (topology.Exchange, error) {
	args, err := amqp.TableFromJSON(x.Arguments)
	out := topology.Exchange{VHost: x.VHost, Name: x.Name, Type: x.Type, Durable: x.Durable,
		AutoDelete: x.AutoDelete, Internal: x.Internal, Args: args}
	if err != nil {
		return out, err
	}
	if err := checkDeclared("exchange", x.VHost, x.Name); err != nil {
		return out, err
	}
	if !topology.ValidExchangeType(x.Type) {
		return out, fmt.Errorf("unknown exchange type '%s'", x.Type)
	}
	return out, replyText(out.ParseExchangeArgs())
}

func (q Queue) model() (topology.Queue, error) {
	args, err := amqp.TableFromJSON(q.Arguments)
	out := topology.Queue{VHost: q.VHost, Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete, Args: args}
	if err != nil {
		return out, err
	}
	if q.Type != "" && q.Type != "classic" {
		return out, fmt.Errorf("queue type %q: Warren has classic queues only", q.Type)
	}
	if err := checkDeclared("queue", q.VHost, q.Name); err != nil {
		return out, err
	}
	_, err = out.QueueSpec()
	return out, replyText(err)
}

func (b Binding) model() (topology.Binding, error) {
	args, err := amqp.TableFromJSON(b.Arguments)
	out := topology.Binding{VHost: b.VHost, Source: b.Source, Dest: b.Destination, Key: b.RoutingKey, Args: args}
	if err != nil {
		return out, err
	}
	switch b.DestinationType {
	case "queue":
		out.DestKind = topology.ToQueue
	case "exchange":
		out.DestKind = topology.ToExchange
	default:
		return out, fmt.Errorf("destination_type %q: use queue or exchange", b.DestinationType)
	}
	if b.Source == "" || b.Destination == "" {
		return out, errors.New("a binding needs a source exchange and a destination (not the default exchange)")
	}
	if err := topology.CheckEntityName("vhost", b.VHost); err != nil {
		return out, err
	}
	return out, errors.Join(replyText(topology.CheckName("exchange", b.Source)),
		replyText(topology.CheckName(b.DestinationType, b.Destination)), replyText(topology.CheckName("routing key", b.RoutingKey)))
}

// checkDeclared applies the name rules of a declare: 1-255 bytes, not in
// the reserved amq. namespace, in a named vhost.
func checkDeclared(kind, vhost, name string) error {
	if err := topology.CheckEntityName("vhost", vhost); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%s name must be 1-%d bytes", kind, topology.MaxNameLen)
	}
	if err := topology.CheckName(kind, name); err != nil {
		return replyText(err)
	}
	return replyText(topology.CheckNotReserved(kind, vhost, name))
}
