package apiauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warrenmq/warren/api/topology"
)

// Bucket is the KV bucket of instance tokens, keyed "<instance>.<id>"
// (instance names are DNS labels, valid as KV key tokens as they are).
const Bucket = "warren-api-tokens"

// tokenPrefix starts every instance token, so that secret scanners and
// people can tell one when they see it.
const tokenPrefix = "warren"

// Token is an instance token's record, without its secret.
type Token struct {
	ID          string    `json:"id"`
	Instance    string    `json:"instance"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Hash        string    `json:"hash"` // hex SHA-256 of the whole token
}

// ErrNoToken is Delete's refusal of a token the instance does not have.
var ErrNoToken = errors.New("no such token")

// Store authenticates tokens and keeps the instance tokens.
type Store struct {
	kv    jetstream.KeyValue
	admin adminToken
}

// Open opens (creating if needed) the token bucket, with the deployment's
// admin token.
func Open(ctx context.Context, js jetstream.JetStream, admin string) (*Store, error) {
	a, err := newAdminToken(admin)
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, History: 1, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv, admin: a}, nil
}

// Authenticate returns the principal a bearer token stands for, or
// ErrBadToken. Tokens are read from KV on every call, so a revoked token
// stops working at once.
func (s *Store) Authenticate(ctx context.Context, token string) (Principal, error) {
	if s.admin.matches(token) {
		return Principal{Admin: true}, nil
	}
	inst, id, ok := parseToken(token)
	if !ok {
		return Principal{}, ErrBadToken
	}
	t, err := s.get(ctx, inst, id)
	if errors.Is(err, ErrNoToken) {
		return Principal{}, ErrBadToken
	}
	if err != nil {
		return Principal{}, err
	}
	h := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(h[:])), []byte(t.Hash)) != 1 {
		return Principal{}, ErrBadToken
	}
	return Principal{Instance: inst, TokenID: id}, nil
}

// parseToken splits "warren.<instance>.<id>.<secret>".
func parseToken(token string) (inst, id string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != tokenPrefix || topology.CheckInstanceName(parts[1]) != nil || !isID(parts[2]) {
		return "", "", false
	}
	return parts[1], parts[2], true
}

const idLen = 16 // hex digits

func isID(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == idLen && err == nil
}

// Create makes a token for inst and returns its record and the token
// itself, which is not kept.
func (s *Store) Create(ctx context.Context, inst, description string) (Token, string, error) {
	var raw [8 + 32]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	id := hex.EncodeToString(raw[:8])
	secret := strings.Join([]string{tokenPrefix, inst, id, base64.RawURLEncoding.EncodeToString(raw[8:])}, ".")
	h := sha256.Sum256([]byte(secret))
	t := Token{ID: id, Instance: inst, Description: description,
		Created: time.Now().UTC().Truncate(time.Second), Hash: hex.EncodeToString(h[:])}
	val, err := json.Marshal(t)
	if err != nil {
		return Token{}, "", err
	}
	if _, err := s.kv.Create(ctx, key(inst, id), val); err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	return t, secret, nil
}

func key(inst, id string) string { return inst + "." + id }

func (s *Store) get(ctx context.Context, inst, id string) (Token, error) {
	e, err := s.kv.Get(ctx, key(inst, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Token{}, ErrNoToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("read token: %w", err)
	}
	var t Token
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return Token{}, fmt.Errorf("decode token %s: %w", id, err)
	}
	return t, nil
}

// List returns inst's tokens, oldest first.
func (s *Store) List(ctx context.Context, inst string) ([]Token, error) {
	ids, err := s.ids(ctx, inst)
	if err != nil {
		return nil, err
	}
	out := make([]Token, 0, len(ids))
	for _, id := range ids {
		t, err := s.get(ctx, inst, id)
		if errors.Is(err, ErrNoToken) {
			continue // revoked meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Token) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func (s *Store) ids(ctx context.Context, inst string) ([]string, error) {
	l, err := s.kv.ListKeysFiltered(ctx, inst+".*")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	var ids []string
	for k := range l.Keys() {
		ids = append(ids, strings.TrimPrefix(k, inst+"."))
	}
	return ids, ctx.Err() // the lister stops by itself; early only when ctx ends
}

// Delete revokes one of inst's tokens, or returns ErrNoToken.
func (s *Store) Delete(ctx context.Context, inst, id string) error {
	if !isID(id) {
		return ErrNoToken
	}
	if _, err := s.get(ctx, inst, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, key(inst, id)); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// DeleteInstance revokes all of inst's tokens.
func (s *Store) DeleteInstance(ctx context.Context, inst string) error {
	ids, err := s.ids(ctx, inst)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.kv.Delete(ctx, key(inst, id)); err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
	}
	return nil
}
