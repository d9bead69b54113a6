package provision

import (
	"os"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
)

// rabbitExport is GET /api/definitions from a real RabbitMQ 3.10.8.
func rabbitExport(t *testing.T) *structpb.Struct {
	t.Helper()
	return definitionsStruct(t, string(must(os.ReadFile("../definitions/testdata/rabbitmq-3.10.json"))(t)))
}

func must(b []byte, err error) func(*testing.T) []byte {
	return func(t *testing.T) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func definitionsStruct(t *testing.T, js string) *structpb.Struct {
	t.Helper()
	var s structpb.Struct
	if err := protojson.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestImportRabbitMQExportThenExport(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	f.withNode()
	res, err := f.s.ImportDefinitions(f.acme, &pb.ImportDefinitionsRequest{Instance: "acme", Definitions: rabbitExport(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetQueues() != 3 || res.GetBindings() != 5 || res.GetUsers() != 3 || res.GetPolicies() != 1 {
		t.Errorf("import wrote %v", res)
	}
	q, err := f.s.GetQueue(f.acme, &pb.GetQueueRequest{Instance: "acme", Vhost: "prod", Name: "orders.new"})
	if err != nil {
		t.Fatal(err)
	}
	if q.GetArguments().AsMap()["x-dead-letter-exchange"] != "orders.dlx" {
		t.Errorf("queue %v", q)
	}
	p, err := f.s.GetPermission(f.acme, &pb.GetPermissionRequest{Instance: "acme", Vhost: "prod", User: "app"})
	if err != nil || p.GetConfigure() != `^app\.` {
		t.Errorf("permission %v %v", p, err)
	}
	exp, err := f.s.ExportDefinitions(f.acme, &pb.ExportDefinitionsRequest{Instance: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	for section, want := range map[string]int{"vhosts": 2, "users": 3, "permissions": 3, "policies": 1, "exchanges": 3, "queues": 3, "bindings": 5} {
		if n := len(exp.GetFields()[section].GetListValue().GetValues()); n != want {
			t.Errorf("export has %d %s, want %d", n, section, want)
		}
	}
	// Importing the export again changes nothing and is accepted.
	if _, err := f.s.ImportDefinitions(f.acme, &pb.ImportDefinitionsRequest{Instance: "acme", Definitions: exp}); err != nil {
		t.Errorf("re-import of an export: %v", err)
	}
}

// A file refused against the instance writes nothing, not even the
// entries before the one at fault.
func TestRefusedImportWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	node := f.withNode()
	const head = `{"vhosts":[{"name":"v"}],"users":[{"name":"u","password_hash":"","hashing_algorithm":"","tags":[]}],
		"exchanges":[{"name":"x","vhost":"v","type":"direct","durable":true,"auto_delete":false,"internal":false,"arguments":{}}],
		"queues":[{"name":"q","vhost":"v","durable":true,"auto_delete":false,"arguments":{}}],`
	tests := []struct {
		name, bindings, extra string
		code                  codes.Code
	}{
		{"binding to a missing queue", `[{"source":"x","vhost":"v","destination":"nope","destination_type":"queue","routing_key":"","arguments":{}}]`, "", codes.NotFound},
		{"binding from a missing exchange", `[{"source":"nope","vhost":"v","destination":"q","destination_type":"queue","routing_key":"","arguments":{}}]`, "", codes.NotFound},
		{"permission for a missing user", `[]`, `,"permissions":[{"user":"ghost","vhost":"v","configure":"","write":"","read":""}]`, codes.NotFound},
		{"policy in a missing vhost", `[]`, `,"policies":[{"vhost":"nowhere","name":"p","pattern":".*","apply-to":"all","definition":{"expires":1},"priority":0}]`, codes.NotFound},
		{"unknown field", `[]`, `,"shovels":[]`, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.ImportDefinitions(f.acme, &pb.ImportDefinitionsRequest{Instance: "acme",
				Definitions: definitionsStruct(t, head+`"bindings":`+tc.bindings+tc.extra+`}`)})
			wantCode(t, tc.name, err, tc.code)
			if _, err := f.s.GetVHost(f.acme, &pb.GetVHostRequest{Instance: "acme", Vhost: "v"}); err == nil {
				t.Error("the vhost was created")
			}
			if _, err := f.s.GetUser(f.acme, &pb.GetUserRequest{Instance: "acme", User: "u"}); err == nil {
				t.Error("the user was created")
			}
			if node.count() != 0 {
				t.Error("a queue was created")
			}
		})
	}
}

func TestImportRefusesInequivalentRedeclare(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	f.withNode()
	if _, err := f.s.CreateQueue(f.acme, &pb.CreateQueueRequest{Instance: "acme", Vhost: "/", Name: "q"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.ImportDefinitions(f.acme, &pb.ImportDefinitionsRequest{Instance: "acme", Definitions: definitionsStruct(t,
		`{"policies":[{"vhost":"/","name":"p","pattern":".*","apply-to":"all","definition":{"expires":1},"priority":0}],
		  "queues":[{"name":"q","vhost":"/","durable":false,"auto_delete":false,"arguments":{}}]}`)})
	wantCode(t, "durable differs", err, codes.FailedPrecondition)
	if _, err := f.s.GetPolicy(f.acme, &pb.GetPolicyRequest{Instance: "acme", Vhost: "/", Name: "p"}); err == nil {
		t.Error("the policy before the refused queue was written")
	}
}

// A file that declares one queue twice, differently, is refused before
// the first declare is written.
func TestImportRefusesInconsistentFile(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	node := f.withNode()
	_, err := f.s.ImportDefinitions(f.acme, &pb.ImportDefinitionsRequest{Instance: "acme", Definitions: definitionsStruct(t,
		`{"queues":[{"name":"q","vhost":"/","durable":true,"auto_delete":false,"arguments":{}},
		            {"name":"q","vhost":"/","durable":false,"auto_delete":false,"arguments":{}}]}`)})
	wantCode(t, "one queue, two ways", err, codes.FailedPrecondition)
	if node.count() != 0 {
		t.Error("the first declare was written")
	}
}

func TestImportRespectsQuotas(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", &pb.Quotas{MaxQueues: ptr(uint32(2))})
	f.withNode()
	_, err := f.s.ImportDefinitions(f.acme, &pb.ImportDefinitionsRequest{Instance: "acme", Definitions: rabbitExport(t)})
	wantCode(t, "3 queues past a quota of 2", err, codes.ResourceExhausted)
	list, _ := f.s.ListVHosts(f.acme, &pb.ListVHostsRequest{Instance: "acme"})
	if len(list.GetVhosts()) != 1 {
		t.Errorf("vhosts after a refused import: %v", list)
	}
}

func ptr[T any](v T) *T { return &v }
