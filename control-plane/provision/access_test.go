package provision

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/warrenmq/warren/api/passhash"
	pb "github.com/warrenmq/warren/api/provisionpb"
)

func TestScopedTokenSeesOnlyItsInstance(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	f.instance(t, "other", nil)
	list, err := f.s.ListInstances(f.acme, &pb.ListInstancesRequest{})
	if err != nil || len(list.GetInstances()) != 1 || list.GetInstances()[0].GetName() != "acme" {
		t.Fatalf("scoped list: %v %v", list, err)
	}
	if _, err := f.s.CreateVHost(f.acme, &pb.CreateVHostRequest{Instance: "acme", Name: "v"}); err != nil {
		t.Fatalf("scoped token in its instance: %v", err)
	}
	for name, call := range map[string]func() error{
		"get another instance": func() error {
			_, err := f.s.GetInstance(f.acme, &pb.GetInstanceRequest{Instance: "other"})
			return err
		},
		"a missing instance": func() error { // refused before looking, so nothing leaks
			_, err := f.s.GetInstance(f.acme, &pb.GetInstanceRequest{Instance: "nope"})
			return err
		},
		"another instance's users": func() error {
			_, err := f.s.ListUsers(f.acme, &pb.ListUsersRequest{Instance: "other"})
			return err
		},
		"create a user elsewhere": func() error {
			_, err := f.s.CreateUser(f.acme, &pb.CreateUserRequest{Instance: "other", Name: "x"})
			return err
		},
		"create an instance": func() error {
			_, err := f.s.CreateInstance(f.acme, &pb.CreateInstanceRequest{Name: "mine"})
			return err
		},
		"raise its own quotas": func() error {
			_, err := f.s.UpdateInstance(f.acme, &pb.UpdateInstanceRequest{Instance: "acme"})
			return err
		},
		"delete its instance": func() error {
			_, err := f.s.DeleteInstance(f.acme, &pb.DeleteInstanceRequest{Instance: "acme"})
			return err
		},
		"mint a token": func() error {
			_, err := f.s.CreateToken(f.acme, &pb.CreateTokenRequest{Instance: "acme"})
			return err
		},
		"list tokens": func() error {
			_, err := f.s.ListTokens(f.acme, &pb.ListTokensRequest{Instance: "acme"})
			return err
		},
	} {
		wantCode(t, name, call(), codes.PermissionDenied)
	}
	_, err = f.s.ListInstances(f.anon, &pb.ListInstancesRequest{})
	wantCode(t, "no principal", err, codes.Unauthenticated)
}

func TestVHosts(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", &pb.Quotas{MaxVhosts: proto.Uint32(2)})
	v, err := f.s.CreateVHost(f.acme, &pb.CreateVHostRequest{Instance: "acme", Name: "orders",
		Description: "order flow", Tags: []string{"prod", "eu"}})
	if err != nil || v.GetName() != "orders" {
		t.Fatalf("create: %v %v", v, err)
	}
	_, err = f.s.CreateVHost(f.acme, &pb.CreateVHostRequest{Instance: "acme", Name: "orders"})
	wantCode(t, "duplicate", err, codes.AlreadyExists)
	_, err = f.s.CreateVHost(f.acme, &pb.CreateVHostRequest{Instance: "acme", Name: "third"})
	wantCode(t, "past the quota of 2 (with /)", err, codes.ResourceExhausted)
	for name, req := range map[string]*pb.CreateVHostRequest{
		"empty name":  {Instance: "acme"},
		"long name":   {Instance: "acme", Name: string(make([]rune, 256))},
		"comma tag":   {Instance: "acme", Name: "x", Tags: []string{"a,b"}},
		"control chr": {Instance: "acme", Name: "x\n"},
	} {
		_, err := f.s.CreateVHost(f.acme, req)
		wantCode(t, name, err, codes.InvalidArgument)
	}
	_, err = f.s.CreateVHost(f.admin, &pb.CreateVHostRequest{Instance: "nope", Name: "x"})
	wantCode(t, "missing instance", err, codes.NotFound)

	mask := &fieldmaskpb.FieldMask{Paths: []string{"description"}}
	v, err = f.s.UpdateVHost(f.acme, &pb.UpdateVHostRequest{Instance: "acme", Vhost: "orders",
		Settings: &pb.VHostSettings{Description: "new", Tags: []string{"ignored"}}, UpdateMask: mask})
	if err != nil || v.GetDescription() != "new" || len(v.GetTags()) != 2 {
		t.Fatalf("update of the description only: %v %v", v, err)
	}
	_, err = f.s.UpdateVHost(f.acme, &pb.UpdateVHostRequest{Instance: "acme", Vhost: "orders",
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	wantCode(t, "update of the name", err, codes.InvalidArgument)

	list, _ := f.s.ListVHosts(f.acme, &pb.ListVHostsRequest{Instance: "acme"})
	if got := list.GetVhosts(); len(got) != 2 || got[0].GetName() != "/" || got[1].GetDescription() != "new" {
		t.Fatalf("list: %v", got)
	}
	if _, err := f.s.DeleteVHost(f.acme, &pb.DeleteVHostRequest{Instance: "acme", Vhost: "orders"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.GetVHost(f.acme, &pb.GetVHostRequest{Instance: "acme", Vhost: "orders"})
	wantCode(t, "get after delete", err, codes.NotFound)
	_, err = f.s.DeleteVHost(f.acme, &pb.DeleteVHostRequest{Instance: "acme", Vhost: "orders"})
	wantCode(t, "delete twice", err, codes.NotFound)
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	u, err := f.s.CreateUser(f.acme, &pb.CreateUserRequest{Instance: "acme", Name: "app", Password: "s3cret", Tags: []string{"monitoring"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.GetHashingAlgorithm() != passhash.SHA256 || !passhash.Verify(passhash.SHA256, u.GetPasswordHash(), "s3cret") {
		t.Fatalf("user %v: not a salted SHA-256 of the password", u)
	}
	imported := "ytUIm/Xb3yB16kTpWLMGsdQshDQIRgWveYehTItxpYNIE5CNeIRuSaf9d0+A5sBl6Sdr9wjM9UD7oD17+iNKfcYnX6U="
	if _, err := f.s.CreateUser(f.acme, &pb.CreateUserRequest{Instance: "acme", Name: "moved",
		PasswordHash: imported, HashingAlgorithm: passhash.SHA512}); err != nil {
		t.Fatalf("a hash exported from RabbitMQ: %v", err)
	}
	for name, req := range map[string]*pb.CreateUserRequest{
		"both password and hash": {Name: "x", Password: "p", PasswordHash: imported},
		"a hash of another kind": {Name: "x", PasswordHash: imported},
		"unknown algorithm":      {Name: "x", PasswordHash: imported, HashingAlgorithm: "rabbit_password_hashing_md5"},
		"algorithm with clear":   {Name: "x", Password: "p", HashingAlgorithm: passhash.SHA256},
		"empty name":             {Password: "p"},
		"duplicate":              {Name: "app"},
	} {
		req.Instance = "acme"
		_, err := f.s.CreateUser(f.acme, req)
		want := codes.InvalidArgument
		if name == "duplicate" {
			want = codes.AlreadyExists
		}
		wantCode(t, name, err, want)
	}
	if _, err := f.s.GetUser(f.acme, &pb.GetUserRequest{Instance: "acme", User: "x"}); err == nil {
		t.Error("a refused create left the user")
	}

	update := func(paths []string, set *pb.UserSettings) (*pb.User, error) {
		return f.s.UpdateUser(f.acme, &pb.UpdateUserRequest{Instance: "acme", User: "app",
			Settings: set, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	}
	u, err = update([]string{"password"}, &pb.UserSettings{Password: "n3w", Tags: []string{"ignored"}})
	if err != nil || !passhash.Verify(u.GetHashingAlgorithm(), u.GetPasswordHash(), "n3w") || u.GetTags()[0] != "monitoring" {
		t.Fatalf("password change: %v %v", u, err)
	}
	_, err = update([]string{"password"}, &pb.UserSettings{})
	wantCode(t, "an empty password", err, codes.InvalidArgument)
	_, err = update([]string{"hashing_algorithm"}, &pb.UserSettings{HashingAlgorithm: passhash.SHA512})
	wantCode(t, "an algorithm alone", err, codes.InvalidArgument)
	u, err = update([]string{"tags"}, &pb.UserSettings{})
	if err != nil || len(u.GetTags()) != 0 || !passhash.Verify(u.GetHashingAlgorithm(), u.GetPasswordHash(), "n3w") {
		t.Fatalf("clearing tags: %v %v", u, err)
	}
	u, err = update([]string{"password_hash"}, &pb.UserSettings{})
	if err != nil || u.GetPasswordHash() != "" {
		t.Fatalf("removing the password: %v %v", u, err)
	}
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	fillInstance(t, f, "acme")
	if _, err := f.s.CreateUser(f.acme, &pb.CreateUserRequest{Instance: "acme", Name: "ro"}); err != nil {
		t.Fatal(err)
	}
	ro := &pb.SetPermissionRequest{Instance: "acme", Vhost: "/", User: "ro",
		Configure: proto.String(""), Write: proto.String(""), Read: proto.String("^orders\\.")}
	if p, err := f.s.SetPermission(f.acme, ro); err != nil || p.GetRead() != "^orders\\." {
		t.Fatalf("set: %v %v", p, err)
	}
	for name, c := range map[string]struct {
		req  *pb.SetPermissionRequest
		code codes.Code
	}{
		"write missing":   {&pb.SetPermissionRequest{Vhost: "/", User: "ro", Configure: proto.String(""), Read: proto.String("")}, codes.InvalidArgument},
		"bad expression":  {&pb.SetPermissionRequest{Vhost: "/", User: "ro", Configure: proto.String("("), Write: proto.String(""), Read: proto.String("")}, codes.InvalidArgument},
		"no such vhost":   {allPerm("", "nope", "ro"), codes.NotFound},
		"no such user":    {allPerm("", "/", "nobody"), codes.NotFound},
		"replacing is ok": {allPerm("", "/", "app"), codes.OK},
	} {
		c.req.Instance = "acme"
		_, err := f.s.SetPermission(f.acme, c.req)
		wantCode(t, name, err, c.code)
	}
	if p, _ := f.s.GetPermission(f.acme, &pb.GetPermissionRequest{Instance: "acme", Vhost: "/", User: "ro"}); p.GetRead() != "^orders\\." {
		t.Errorf("a refused set changed the permission: %v", p)
	}
	byUser, _ := f.s.ListPermissions(f.acme, &pb.ListPermissionsRequest{Instance: "acme", User: "app"})
	if got := byUser.GetPermissions(); len(got) != 2 || got[0].GetVhost() != "/" || got[1].GetVhost() != "orders" {
		t.Errorf("app's permissions: %v", got)
	}
	byVHost, _ := f.s.ListPermissions(f.acme, &pb.ListPermissionsRequest{Instance: "acme", Vhost: "/"})
	if got := byVHost.GetPermissions(); len(got) != 2 || got[0].GetUser() != "app" || got[1].GetUser() != "ro" {
		t.Errorf("/'s permissions: %v", got)
	}
	if _, err := f.s.DeleteUser(f.acme, &pb.DeleteUserRequest{Instance: "acme", User: "app"}); err != nil {
		t.Fatal(err)
	}
	all, _ := f.s.ListPermissions(f.acme, &pb.ListPermissionsRequest{Instance: "acme"})
	if len(all.GetPermissions()) != 1 {
		t.Errorf("a deleted user's permissions stayed: %v", all)
	}
	_, err := f.s.DeletePermission(f.acme, &pb.DeletePermissionRequest{Instance: "acme", Vhost: "/", User: "app"})
	wantCode(t, "delete a missing permission", err, codes.NotFound)
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	f.instance(t, "acme", nil)
	created, err := f.s.CreateToken(f.admin, &pb.CreateTokenRequest{Instance: "acme", Description: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.s.tokens.Authenticate(f.admin, created.GetSecret())
	if err != nil || p.Instance != "acme" {
		t.Fatalf("the new token: %+v %v", p, err)
	}
	list, _ := f.s.ListTokens(f.admin, &pb.ListTokensRequest{Instance: "acme"})
	if len(list.GetTokens()) != 1 || list.GetTokens()[0].GetDescription() != "ci" {
		t.Fatalf("list: %v", list)
	}
	_, err = f.s.CreateToken(f.admin, &pb.CreateTokenRequest{Instance: "nope"})
	wantCode(t, "token for a missing instance", err, codes.NotFound)
	if _, err := f.s.DeleteToken(f.admin, &pb.DeleteTokenRequest{Instance: "acme", TokenId: created.GetToken().GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.DeleteToken(f.admin, &pb.DeleteTokenRequest{Instance: "acme", TokenId: created.GetToken().GetId()})
	wantCode(t, "delete twice", err, codes.NotFound)
}
