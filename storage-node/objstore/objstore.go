// Package objstore is the object store a storage node tiers cold segments
// to: whole objects written once, read back with ranged reads, listed by
// prefix to collect what a crash left behind, and deleted. Two
// implementations follow the same contract (objstoretest checks it): a
// local folder (objstore/folder, the default of `warren serve`) and S3 or
// any S3-compatible server (objstore/s3).
//
// Objects are immutable in practice: the node writes a segment under a new
// key and never overwrites it, so the contract says nothing about readers
// racing a second Put of the same key beyond "all or nothing".
package objstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrNotFound is wrapped by every error that means the key has no object.
var ErrNotFound = errors.New("object not found")

// ErrOutOfRange is wrapped by the error of a ranged read that reaches past
// the end of the object.
var ErrOutOfRange = errors.New("read past the end of the object")

// ErrInvalidKey is wrapped by the error for a key the store refuses (see
// CheckKey); nothing was read or written.
var ErrInvalidKey = errors.New("invalid object key")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key  string
	Size int64
}

// Store is an object store. Every method is safe for concurrent use. An
// error other than those documented leaves the outcome unknown (a Put may
// or may not have stored the object); callers retry or sweep with List.
type Store interface {
	// Put stores body under key, replacing any object there. It is atomic:
	// a reader sees the whole new object or none of it, never a part. When
	// Put returns nil the object is durable.
	Put(ctx context.Context, key string, body []byte) error
	// GetRange returns n bytes of the object at offset off; n < 0 reads to
	// the end. A missing object is ErrNotFound; off+n past the end (or off
	// past the end when n < 0) is ErrOutOfRange: a short read never
	// passes for a whole one.
	GetRange(ctx context.Context, key string, off, n int64) ([]byte, error)
	// Stat returns the object's size; a missing object is ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns every object whose key starts with prefix, sorted by
	// key. It pages through the store internally; the result holds all of
	// them, so the caller keeps its prefixes to a bounded number of objects.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
}

// MaxKeyLen is the longest key a Store accepts (S3's limit, in bytes).
const MaxKeyLen = 1024

// CheckKey reports whether key is valid for every Store: non-empty, at
// most MaxKeyLen bytes, made of '/'-separated non-empty segments none of
// which is "." or "..", no leading or trailing '/', and no NUL or
// backslash. Such keys map to paths under a folder without escaping it,
// and mean the same to S3.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("key of %d bytes: %w", len(key), ErrInvalidKey)
	}
	if strings.ContainsAny(key, "\x00\\") {
		return fmt.Errorf("key %q holds NUL or backslash: %w", key, ErrInvalidKey)
	}
	for part := range strings.SplitSeq(key, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("key %q: empty, \".\" or \"..\" segment: %w", key, ErrInvalidKey)
		}
	}
	return nil
}

// CheckRange validates the arguments of GetRange before any I/O: a
// negative offset, or a range whose end overflows, is ErrOutOfRange.
func CheckRange(off, n int64) error {
	if off < 0 || (n > 0 && off > math.MaxInt64-n) {
		return fmt.Errorf("range [%d, +%d): %w", off, n, ErrOutOfRange)
	}
	return nil
}
