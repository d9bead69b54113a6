package provision

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/warrenmq/warren/api/passhash"
	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/api/topokv"
	"github.com/warrenmq/warren/api/topology"
)

func TestCreateInstanceFillsDefaultQuotas(t *testing.T) {
	f := newFixture(t)
	i := f.instance(t, "acme", &pb.Quotas{MaxQueues: proto.Uint32(5), MaxStoredBytes: proto.Uint64(1 << 40)})
	q := i.GetQuotas()
	if q.GetMaxQueues() != 5 || q.GetMaxStoredBytes() != 1<<40 {
		t.Errorf("given quotas not kept: %v", q)
	}
	if q.GetMaxConnections() != topology.DefaultQuotas.MaxConnections || q.MaxPublishRate == nil {
		t.Errorf("omitted quotas not defaulted, or not all reported: %v", q)
	}
	if i.GetStatus() != pb.Instance_ACTIVE || i.GetEndpoint() != "amqp://localhost:5672" || i.GetCreateTime() == nil {
		t.Errorf("instance %v", i)
	}
	if _, err := f.s.GetVHost(f.admin, &pb.GetVHostRequest{Instance: "acme", Vhost: "/"}); err != nil {
		t.Errorf("a new instance has no vhost /: %v", err)
	}
	_, err := f.s.CreateInstance(f.admin, &pb.CreateInstanceRequest{Name: "acme"})
	wantCode(t, "second create", err, codes.AlreadyExists)
}

func TestCreateInstanceRefusesBadNames(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"", "Acme", "a.b", "acme:1", "-x", string(make([]byte, 64))} {
		_, err := f.s.CreateInstance(f.admin, &pb.CreateInstanceRequest{Name: name})
		wantCode(t, "name "+name, err, codes.InvalidArgument)
	}
	if list, _ := f.s.ListInstances(f.admin, &pb.ListInstancesRequest{}); len(list.GetInstances()) != 0 {
		t.Errorf("refused creates left instances: %v", list)
	}
}

func TestUpdateInstanceChangesOnlyGivenQuotas(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", &pb.Quotas{MaxQueues: proto.Uint32(5), MaxVhosts: proto.Uint32(3)})
	i, err := f.s.UpdateInstance(f.admin, &pb.UpdateInstanceRequest{Instance: "acme",
		Quotas: &pb.Quotas{MaxQueues: proto.Uint32(0)}})
	if err != nil {
		t.Fatal(err)
	}
	if i.GetQuotas().GetMaxQueues() != 0 || i.GetQuotas().GetMaxVhosts() != 3 || i.GetName() != "acme" {
		t.Errorf("after update: %v", i)
	}
	got, _ := f.s.GetInstance(f.admin, &pb.GetInstanceRequest{Instance: "acme"})
	if !proto.Equal(got.GetQuotas(), i.GetQuotas()) {
		t.Errorf("read back %v, want %v", got.GetQuotas(), i.GetQuotas())
	}
	_, err = f.s.UpdateInstance(f.admin, &pb.UpdateInstanceRequest{Instance: "nope"})
	wantCode(t, "update a missing instance", err, codes.NotFound)
}

func TestDeleteInstanceRemovesEverything(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	f.instance(t, "other", nil)
	fillInstance(t, f, "acme")
	_, secret, err := f.s.tokens.Create(f.admin, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeleteInstance(f.admin, &pb.DeleteInstanceRequest{Instance: "acme"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.GetInstance(f.admin, &pb.GetInstanceRequest{Instance: "acme"})
	wantCode(t, "get after delete", err, codes.NotFound)
	l, err := f.kv.ListKeysFiltered(f.admin, topokv.InstanceContents("acme"))
	if err != nil {
		t.Fatal(err)
	}
	for k := range l.Keys() {
		t.Errorf("record left: %s", k)
	}
	if _, err := f.s.tokens.Authenticate(f.admin, secret); err == nil {
		t.Error("the instance's token still works")
	}
	if _, err := f.s.GetInstance(f.admin, &pb.GetInstanceRequest{Instance: "other"}); err != nil {
		t.Errorf("the other instance went too: %v", err)
	}
	f.instance(t, "acme", nil) // the name is free again, and the new instance empty
	if users, _ := f.s.ListUsers(f.admin, &pb.ListUsersRequest{Instance: "acme"}); len(users.GetUsers()) != 0 {
		t.Errorf("a recreated instance has the old users: %v", users)
	}
	_, err = f.s.DeleteInstance(f.admin, &pb.DeleteInstanceRequest{Instance: "nope"})
	wantCode(t, "delete a missing instance", err, codes.NotFound)
}

// fillInstance gives an instance a vhost, a user and a permission.
func fillInstance(t *testing.T, f *fixture, inst string) {
	t.Helper()
	if _, err := f.s.CreateVHost(f.admin, &pb.CreateVHostRequest{Instance: inst, Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateUser(f.admin, &pb.CreateUserRequest{Instance: inst, Name: "app", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetPermission(f.admin, allPerm(inst, "orders", "app")); err != nil {
		t.Fatal(err)
	}
}

func allPerm(inst, vhost, user string) *pb.SetPermissionRequest {
	return &pb.SetPermissionRequest{Instance: inst, Vhost: vhost, User: user,
		Configure: proto.String(".*"), Write: proto.String(".*"), Read: proto.String(".*")}
}

func TestDefaultInstanceIsSeededOnce(t *testing.T) {
	f := newFixture(t)
	if err := f.s.EnsureDefault(f.admin); err != nil {
		t.Fatal(err)
	}
	def := topology.DefaultInstance
	u, err := f.s.GetUser(f.admin, &pb.GetUserRequest{Instance: def, User: "guest"})
	if err != nil {
		t.Fatal(err)
	}
	if !passhash.Verify(u.GetHashingAlgorithm(), u.GetPasswordHash(), "guest") || u.GetTags()[0] != "administrator" {
		t.Errorf("guest is %v", u)
	}
	p, err := f.s.GetPermission(f.admin, &pb.GetPermissionRequest{Instance: def, Vhost: "/", User: "guest"})
	if err != nil || p.GetConfigure() != ".*" {
		t.Errorf("guest's permission %v %v", p, err)
	}
	i, _ := f.s.GetInstance(f.admin, &pb.GetInstanceRequest{Instance: def})
	if i.GetQuotas().GetMaxConnections() != 0 {
		t.Errorf("the default instance has quotas %v; it is bounded by the server's limits only", i.GetQuotas())
	}
	if _, err := f.s.DeleteUser(f.admin, &pb.DeleteUserRequest{Instance: def, User: "guest"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.EnsureDefault(f.admin); err != nil { // a restart
		t.Fatal(err)
	}
	_, err = f.s.GetUser(f.admin, &pb.GetUserRequest{Instance: def, User: "guest"})
	wantCode(t, "guest after deletion and restart", err, codes.NotFound)
	_, err = f.s.DeleteInstance(f.admin, &pb.DeleteInstanceRequest{Instance: def})
	wantCode(t, "delete the default instance", err, codes.FailedPrecondition)
}
