package mgmtapi

import (
	"net/http"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
	"github.com/warrenmq/warren/control-plane/definitions"
)

func userJSONOf(u *pb.User) userJSON {
	return userJSON{Name: u.GetName(), PasswordHash: u.GetPasswordHash(), HashingAlgorithm: u.GetHashingAlgorithm(),
		Tags: orEmpty(u.GetTags()), Limits: map[string]any{}}
}

func (a *API) listUsers(w http.ResponseWriter, _ *http.Request, c *caller) error {
	list, err := a.svc.ListUsers(c.ctx, &pb.ListUsersRequest{Instance: c.inst})
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(list.GetUsers()))
	for _, u := range list.GetUsers() {
		out = append(out, userJSONOf(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := a.svc.GetUser(c.ctx, &pb.GetUserRequest{Instance: c.inst, User: pathValue(r, "user")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSONOf(u))
	return nil
}

// userBody is PUT /api/users/{name}; the name comes from the path.
type userBody struct {
	Name             string            `json:"name"`
	Password         *string           `json:"password"`
	PasswordHash     *string           `json:"password_hash"`
	HashingAlgorithm string            `json:"hashing_algorithm"`
	Tags             *definitions.Tags `json:"tags"`
	Limits           map[string]any    `json:"limits"`
}

// putUser creates a user or replaces the password and tags given.
func (a *API) putUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	var b userBody
	if err := decode(r, &b); err != nil {
		return err
	}
	name := pathValue(r, "user")
	_, err := a.svc.GetUser(c.ctx, &pb.GetUserRequest{Instance: c.inst, User: name})
	if fromStatus(err) == errNotFound {
		_, err = a.svc.CreateUser(c.ctx, &pb.CreateUserRequest{Instance: c.inst, Name: name, Password: deref(b.Password),
			PasswordHash: deref(b.PasswordHash), HashingAlgorithm: b.HashingAlgorithm, Tags: tagsOf(b.Tags)})
		if err == nil {
			created(w, true)
		}
		return err
	}
	if err != nil {
		return err
	}
	_, err = a.svc.UpdateUser(c.ctx, &pb.UpdateUserRequest{Instance: c.inst, User: name,
		Settings: &pb.UserSettings{Password: deref(b.Password), PasswordHash: deref(b.PasswordHash),
			HashingAlgorithm: b.HashingAlgorithm, Tags: tagsOf(b.Tags)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: userPaths(b)}})
	if err == nil {
		created(w, false)
	}
	return err
}

func userPaths(b userBody) []string {
	var paths []string
	if b.Password != nil {
		paths = append(paths, "password")
	}
	if b.PasswordHash != nil {
		paths = append(paths, "password_hash")
		if b.HashingAlgorithm != "" {
			paths = append(paths, "hashing_algorithm")
		}
	}
	if b.Tags != nil {
		paths = append(paths, "tags")
	}
	return paths
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := a.svc.DeleteUser(c.ctx, &pb.DeleteUserRequest{Instance: c.inst, User: pathValue(r, "user")}); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// listPermissions serves /api/permissions, and the same narrowed to the
// vhost or user in the path.
func (a *API) listPermissions(w http.ResponseWriter, r *http.Request, c *caller) error {
	list, err := a.svc.ListPermissions(c.ctx, &pb.ListPermissionsRequest{Instance: c.inst,
		Vhost: pathValue(r, "vhost"), User: pathValue(r, "user")})
	if err != nil {
		return err
	}
	out := make([]permissionJSON, 0, len(list.GetPermissions()))
	for _, p := range list.GetPermissions() {
		out = append(out, permissionJSONOf(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func permissionJSONOf(p *pb.Permission) permissionJSON {
	return permissionJSON{User: p.GetUser(), VHost: p.GetVhost(), Configure: p.GetConfigure(), Write: p.GetWrite(), Read: p.GetRead()}
}

func (a *API) getPermission(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := a.svc.GetPermission(c.ctx, &pb.GetPermissionRequest{Instance: c.inst,
		Vhost: pathValue(r, "vhost"), User: pathValue(r, "user")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, permissionJSONOf(p))
	return nil
}

// permissionBody is PUT /api/permissions/{vhost}/{user}; vhost and user
// come from the path.
type permissionBody struct {
	VHost     string  `json:"vhost"`
	User      string  `json:"user"`
	Configure *string `json:"configure"`
	Write     *string `json:"write"`
	Read      *string `json:"read"`
}

func (a *API) putPermission(w http.ResponseWriter, r *http.Request, c *caller) error {
	var b permissionBody
	if err := decode(r, &b); err != nil {
		return err
	}
	vhost, user := pathValue(r, "vhost"), pathValue(r, "user")
	_, err := a.svc.GetPermission(c.ctx, &pb.GetPermissionRequest{Instance: c.inst, Vhost: vhost, User: user})
	isNew := fromStatus(err) == errNotFound
	_, err = a.svc.SetPermission(c.ctx, &pb.SetPermissionRequest{Instance: c.inst, Vhost: vhost, User: user,
		Configure: b.Configure, Write: b.Write, Read: b.Read})
	if err != nil {
		return err
	}
	created(w, isNew)
	return nil
}

func (a *API) deletePermission(w http.ResponseWriter, r *http.Request, c *caller) error {
	_, err := a.svc.DeletePermission(c.ctx, &pb.DeletePermissionRequest{Instance: c.inst,
		Vhost: pathValue(r, "vhost"), User: pathValue(r, "user")})
	if err != nil {
		return err
	}
	noContent(w)
	return nil
}
