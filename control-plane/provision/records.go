package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// codec reads and writes one kind of record (topokv's Encode and Decode
// functions).
type codec[T any] struct {
	decode func([]byte) (T, error)
	encode func(T) ([]byte, error)
}

// rewrite reads the record at key, lets change modify it, and writes it
// back with a compare-and-set on the revision it read; missing is the
// error for an absent record. A record changed meanwhile by another
// control plane is refused with Aborted: nothing is written, and the
// caller may retry.
func rewrite[T any](ctx context.Context, s *Service, key string, c codec[T], change func(*T) error, missing error) (T, error) {
	var v T
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return v, missing
	}
	if err != nil {
		return v, storageError(err)
	}
	if v, err = c.decode(e.Value()); err != nil {
		return v, storageError(err)
	}
	if err := change(&v); err != nil {
		return v, err
	}
	val, err := c.encode(v)
	if err != nil {
		return v, storageError(err)
	}
	rev, err := s.kv.Update(ctx, key, val, e.Revision())
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return v, status.Error(codes.Aborted, "changed concurrently; retry")
	}
	if err != nil {
		return v, storageError(fmt.Errorf("update %s: %w", key, err))
	}
	return v, s.settle(ctx, rev)
}

// create writes a new record, or returns exists when the key is taken.
func create[T any](ctx context.Context, s *Service, key string, c codec[T], v T, exists error) error {
	val, err := c.encode(v)
	if err != nil {
		return storageError(err)
	}
	rev, err := s.kv.Create(ctx, key, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return exists
	}
	if err != nil {
		return storageError(fmt.Errorf("create %s: %w", key, err))
	}
	return s.settle(ctx, rev)
}
