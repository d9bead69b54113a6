package apiauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/control-plane/natsembed/natstest"
)

const admin = "0123456789abcdef-admin"

// openStore opens a Store on a real embedded JetStream server.
func openStore(t *testing.T) (*Store, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	_, js := natstest.JetStream(t)
	s, err := Open(ctx, js, admin)
	if err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

func TestAdminToken(t *testing.T) {
	s, ctx := openStore(t)
	if p, err := s.Authenticate(ctx, admin); err != nil || !p.Admin || !p.MayAccess("any") {
		t.Fatalf("admin: %+v %v", p, err)
	}
	for _, bad := range []string{"", admin + "x", admin[:len(admin)-1], strings.ToUpper(admin)} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("%q: %v, want ErrBadToken", bad, err)
		}
	}
	if _, err := Open(ctx, nil, "short"); err == nil {
		t.Error("a 5-character admin token was accepted")
	}
}

func TestInstanceTokens(t *testing.T) {
	s, ctx := openStore(t)
	tok, secret, err := s.Create(ctx, "acme", "ci")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, secret)
	if err != nil || p.Admin || p.Instance != "acme" || p.TokenID != tok.ID {
		t.Fatalf("scoped token: %+v %v", p, err)
	}
	if !p.MayAccess("acme") || p.MayAccess("other") {
		t.Fatalf("scope of %+v", p)
	}
	if strings.Contains(tok.Hash, secret) || tok.Hash == "" {
		t.Fatal("record holds the secret, or no hash")
	}
	forged := strings.Replace(secret, ".acme.", ".other.", 1) // same id and secret, another instance
	lastChar := secret[:len(secret)-1] + string(secret[len(secret)-1]^1)
	for name, bad := range map[string]string{"forged instance": forged, "changed secret": lastChar,
		"not a token": "warren.acme", "bad id": "warren.acme.zz.x", "wildcard instance": "warren.*.0123456789abcdef.x"} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %v, want ErrBadToken", name, err)
		}
	}
	if err := s.Delete(ctx, "other", tok.ID); !errors.Is(err, ErrNoToken) {
		t.Fatalf("deleting through another instance: %v, want ErrNoToken", err)
	}
	if err := s.Delete(ctx, "acme", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, ErrBadToken) {
		t.Fatalf("revoked token: %v, want ErrBadToken", err)
	}
}

func TestListAndDeleteInstance(t *testing.T) {
	s, ctx := openStore(t)
	var secrets []string
	for _, inst := range []string{"acme", "acme", "acme-2"} {
		_, secret, err := s.Create(ctx, inst, "")
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, secret)
	}
	if l, err := s.List(ctx, "acme"); err != nil || len(l) != 2 {
		t.Fatalf("acme has %d tokens (%v), want 2: a prefix must not match acme-2's", len(l), err)
	}
	if err := s.DeleteInstance(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.List(ctx, "acme"); err != nil || len(l) != 0 {
		t.Fatalf("acme keeps %d tokens (%v)", len(l), err)
	}
	if _, err := s.Authenticate(ctx, secrets[0]); !errors.Is(err, ErrBadToken) {
		t.Fatalf("deleted instance's token: %v", err)
	}
	if _, err := s.Authenticate(ctx, secrets[2]); err != nil {
		t.Fatalf("the other instance lost its token: %v", err)
	}
}

func TestLoadOrCreateAdminToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, created, err := LoadOrCreateAdminToken(dir)
	if err != nil || !created || len(tok) < MinAdminTokenLen {
		t.Fatalf("first start: %q created=%v %v", tok, created, err)
	}
	st, err := os.Stat(filepath.Join(dir, AdminTokenFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file %v mode %v: others could read it", err, st.Mode())
	}
	again, created, err := LoadOrCreateAdminToken(dir)
	if err != nil || created || again != tok {
		t.Fatalf("restart: %q created=%v %v, want the same token", again, created, err)
	}
	if err := os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateAdminToken(dir); err == nil {
		t.Fatal("a short token in the file was accepted")
	}
}
