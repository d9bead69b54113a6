// Package passhash keeps AMQP user passwords as RabbitMQ does
// (rabbit_password): base64(salt || H(salt || password)) with a random
// 4-byte salt. Keeping RabbitMQ's format lets exported definitions carry
// users between Warren and RabbitMQ without knowing their passwords.
package passhash

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
)

// The algorithms, named as RabbitMQ names them in definitions.
const (
	// SHA256 is RabbitMQ's default, and what Hash writes.
	SHA256 = "rabbit_password_hashing_sha256"
	SHA512 = "rabbit_password_hashing_sha512"
)

const saltLen = 4

// newHash returns the hash function of an algorithm, nil when unknown.
func newHash(algorithm string) func() hash.Hash {
	switch algorithm {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// Hash hashes a password with a fresh salt, as SHA256.
func Hash(password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(salted(sha256.New, salt, password))
}

// salted is salt || H(salt || password).
func salted(h func() hash.Hash, salt []byte, password string) []byte {
	d := h()
	d.Write(salt)
	d.Write([]byte(password))
	return d.Sum(append([]byte(nil), salt...))
}

// Verify reports whether password matches an encoded hash. An empty or
// malformed hash, or an unknown algorithm, matches nothing: a user without
// a password cannot log in with one.
func Verify(algorithm, encoded, password string) bool {
	h := newHash(algorithm)
	if h == nil {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(raw) != saltLen+h().Size() {
		return false
	}
	want := salted(h, raw[:saltLen], password)
	return subtle.ConstantTimeCompare(raw, want) == 1
}

// Check validates a hash given from outside (an API call, imported
// definitions): a known algorithm, base64, and the length that algorithm
// makes. The empty hash, a user without a password, is valid.
func Check(algorithm, encoded string) error {
	h := newHash(algorithm)
	if h == nil {
		return fmt.Errorf("unsupported hashing algorithm %q; use %s or %s", algorithm, SHA256, SHA512)
	}
	if encoded == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return fmt.Errorf("password hash is not base64: %w", err)
	}
	if want := saltLen + h().Size(); len(raw) != want {
		return fmt.Errorf("password hash is %d bytes; %s makes %d", len(raw), algorithm, want)
	}
	return nil
}
