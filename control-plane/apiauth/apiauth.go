// Package apiauth authenticates calls to the provisioning API. There are
// two kinds of bearer token: the deployment's admin token, given at start,
// which may do everything, and tokens scoped to one instance, which the
// admin creates through the API. Instance tokens are kept only as hashes,
// in a KV bucket of their own: gateways have no use for them, so they stay
// out of the topology bucket every gateway copies.
package apiauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
)

// Principal is who a call comes from.
type Principal struct {
	Admin    bool
	Instance string // the instance a scoped token may act on; "" for the admin
	TokenID  string // the scoped token's ID; "" for the admin
}

// MayAccess reports whether p may read and change instance inst.
func (p Principal) MayAccess(inst string) bool { return p.Admin || p.Instance == inst }

type principalKey struct{}

// WithPrincipal returns ctx carrying p, for the service to authorize with.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal the HTTP layer authenticated, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ErrBadToken is the refusal of a token that is malformed, unknown or
// revoked; callers answer 401 without saying which.
var ErrBadToken = errors.New("invalid token")

// MinAdminTokenLen bounds how weak an admin token may be: it guards every
// instance of the deployment.
const MinAdminTokenLen = 16

// adminToken holds the admin token's hash, compared in constant time.
type adminToken [sha256.Size]byte

func newAdminToken(token string) (adminToken, error) {
	if len(token) < MinAdminTokenLen {
		return adminToken{}, errors.New("the API admin token must be at least 16 characters")
	}
	return sha256.Sum256([]byte(token)), nil
}

func (a adminToken) matches(token string) bool {
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], h[:]) == 1
}
