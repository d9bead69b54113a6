package definitions

import (
	"encoding/json"

	"github.com/warrenmq/warren/api/amqp"
)

// RabbitVersion is the RabbitMQ version whose definitions format an
// export follows; tools that read rabbit_version see the one Warren is
// compatible with.
const RabbitVersion = "3.10.8"

// Export writes the model as RabbitMQ 3.10 does: every section present
// (empty lists, not null), tags as lists, arguments as objects. The
// caller leaves out what RabbitMQ leaves out (the exchanges every vhost
// has, exclusive queues, the default exchange's implicit bindings).
func Export(m *Model) *File {
	f := &File{RabbitVersion: RabbitVersion, RabbitMQVersion: RabbitVersion, ProductName: "Warren",
		ProductVersion: RabbitVersion, TopicPermissions: []json.RawMessage{}, Parameters: []json.RawMessage{},
		GlobalParameters: []json.RawMessage{}, Users: []User{}, VHosts: []VHost{}, Permissions: []Permission{},
		Policies: []Policy{}, Queues: []Queue{}, Exchanges: []Exchange{}, Bindings: []Binding{}}
	for _, u := range m.Users {
		f.Users = append(f.Users, User{Name: u.Name, PasswordHash: u.PasswordHash,
			HashingAlgorithm: u.HashingAlgorithm, Tags: orEmpty(u.Tags), Limits: map[string]any{}})
	}
	for _, v := range m.VHosts {
		f.VHosts = append(f.VHosts, VHost{Name: v.Name})
	}
	for _, p := range m.Permissions {
		f.Permissions = append(f.Permissions, Permission{User: p.User, VHost: p.VHost,
			Configure: p.Configure, Write: p.Write, Read: p.Read})
	}
	for _, p := range m.Policies {
		f.Policies = append(f.Policies, Policy{VHost: p.VHost, Name: p.Name, Pattern: p.Pattern,
			ApplyTo: p.ApplyTo, Definition: p.Definition, Priority: p.Priority})
	}
	exportTopology(f, m)
	return f
}

func exportTopology(f *File, m *Model) {
	for _, q := range m.Queues {
		f.Queues = append(f.Queues, Queue{Name: q.Name, VHost: q.VHost, Durable: q.Durable,
			AutoDelete: q.AutoDelete, Arguments: amqp.TableToJSON(q.Args)})
	}
	for _, x := range m.Exchanges {
		f.Exchanges = append(f.Exchanges, Exchange{Name: x.Name, VHost: x.VHost, Type: x.Type, Durable: x.Durable,
			AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: amqp.TableToJSON(x.Args)})
	}
	for _, b := range m.Bindings {
		f.Bindings = append(f.Bindings, Binding{Source: b.Source, VHost: b.VHost, Destination: b.Dest,
			DestinationType: string(b.DestKind), RoutingKey: b.Key, Arguments: amqp.TableToJSON(b.Args)})
	}
}

func orEmpty(tags []string) Tags {
	if tags == nil {
		return Tags{}
	}
	return tags
}
