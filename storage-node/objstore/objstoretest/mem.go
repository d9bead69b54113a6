package objstoretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/warrenmq/warren/storage-node/objstore"
)

// Op names a Store method, for the fault and pause hooks of Mem.
type Op int

// The operations of a Store.
const (
	OpPut Op = iota
	OpGetRange
	OpStat
	OpDelete
	OpList
	numOps
)

func (op Op) String() string {
	return [...]string{"Put", "GetRange", "Stat", "Delete", "List"}[op]
}

// Mem is an in-memory objstore.Store for node tests, with hooks that make
// an operation fail or wait. A call passes, in order: the context check,
// the pause gate, the fault check, and then acts. Objects are copied in and
// out, so a caller never aliases the store.
type Mem struct {
	mu struct {
		sync.Mutex
		objects map[string][]byte
		calls   [numOps]int
		blocked [numOps]int
		faults  [numOps]fault
		gates   [numOps]chan struct{} // non-nil while op is paused
	}
}

// fault fails the next n calls of an op (every call while n < 0). With
// after, the call acts first and then fails: a reply lost after the store
// did the work.
type fault struct {
	n     int
	err   error
	after bool
}

// NewMem returns an empty store.
func NewMem() *Mem {
	m := &Mem{}
	m.mu.objects = map[string][]byte{}
	return m
}

// FailNext makes the next n calls of op return err without acting; n < 0
// fails every call until FailNext(op, 0, nil). It replaces any earlier
// fault of op.
func (m *Mem) FailNext(op Op, n int, err error) { m.setFault(op, fault{n: n, err: err}) }

// FailNextAfter makes the next n calls of op act and then return err, as
// when the store did the work and the reply was lost (a Put that stored
// the object, a Delete that deleted it). n < 0 as for FailNext.
func (m *Mem) FailNextAfter(op Op, n int, err error) {
	m.setFault(op, fault{n: n, err: err, after: true})
}

// ErrInjected is the fault of FailNext and FailNextAfter when they are
// given a nil error.
var ErrInjected = errors.New("objstoretest: injected fault")

func (m *Mem) setFault(op Op, f fault) {
	if f.err == nil {
		f.err = ErrInjected
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.faults[op] = f
}

// Pause makes every later call of op wait until Resume(op) or until its
// context ends (then it returns the context's error without acting).
// Pausing a paused op does nothing.
func (m *Mem) Pause(op Op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.gates[op] == nil {
		m.mu.gates[op] = make(chan struct{})
	}
}

// Resume releases the calls of op waiting in a pause, and lets later ones
// through.
func (m *Mem) Resume(op Op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.mu.gates[op]; g != nil {
		close(g)
		m.mu.gates[op] = nil
	}
}

// Blocked is the number of calls of op waiting in a pause now.
func (m *Mem) Blocked(op Op) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.blocked[op]
}

// Calls is the number of calls of op so far, failed and waiting ones
// included.
func (m *Mem) Calls(op Op) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.calls[op]
}

// Keys returns the stored keys, sorted, without going through the hooks
// (for a test's final check that the store matches the table).
func (m *Mem) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.mu.objects))
	for k := range m.mu.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// enter runs a call through the context check, the pause and the fault.
// It returns the error to return before acting, and the one to return
// after acting (nil for both when the call just succeeds).
func (m *Mem) enter(ctx context.Context, op Op) (before, after error) {
	if err := ctx.Err(); err != nil {
		return err, nil
	}
	m.mu.Lock()
	m.mu.calls[op]++
	if err := m.waitLocked(ctx, op); err != nil {
		m.mu.Unlock()
		return err, nil
	}
	defer m.mu.Unlock()
	f := &m.mu.faults[op]
	if f.n == 0 {
		return nil, nil
	}
	if f.n > 0 {
		f.n--
	}
	err := fmt.Errorf("%s: %w", op, f.err)
	if f.after {
		return nil, err
	}
	return err, nil
}

// waitLocked waits, with m.mu released, while op is paused.
func (m *Mem) waitLocked(ctx context.Context, op Op) error {
	for g := m.mu.gates[op]; g != nil; g = m.mu.gates[op] {
		m.mu.blocked[op]++
		m.mu.Unlock()
		var err error
		select {
		case <-g:
		case <-ctx.Done():
			err = ctx.Err()
		}
		m.mu.Lock()
		m.mu.blocked[op]--
		if err != nil {
			return err
		}
	}
	return nil
}

// Put implements objstore.Store.
func (m *Mem) Put(ctx context.Context, key string, body []byte) error {
	if err := objstore.CheckKey(key); err != nil {
		return err
	}
	before, after := m.enter(ctx, OpPut)
	if before != nil {
		return before
	}
	m.mu.Lock()
	m.mu.objects[key] = slices.Clone(body)
	m.mu.Unlock()
	return after
}

// GetRange implements objstore.Store.
func (m *Mem) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := objstore.CheckKey(key); err != nil {
		return nil, err
	}
	if err := objstore.CheckRange(off, n); err != nil {
		return nil, err
	}
	before, after := m.enter(ctx, OpGetRange)
	if before != nil {
		return nil, before
	}
	b, err := m.read(key, off, n)
	if err == nil {
		err = after
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (m *Mem) read(key string, off, n int64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	obj, ok := m.mu.objects[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, objstore.ErrNotFound)
	}
	size := int64(len(obj))
	if n < 0 && off <= size {
		n = size - off
	}
	if n < 0 || off > size || n > size-off {
		return nil, fmt.Errorf("get %s [%d, +%d) of %d bytes: %w", key, off, n, size, objstore.ErrOutOfRange)
	}
	return slices.Clone(obj[off : off+n]), nil
}

// Stat implements objstore.Store.
func (m *Mem) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := objstore.CheckKey(key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	before, after := m.enter(ctx, OpStat)
	if before != nil {
		return objstore.ObjectInfo{}, before
	}
	m.mu.Lock()
	obj, ok := m.mu.objects[key]
	m.mu.Unlock()
	if !ok {
		return objstore.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, objstore.ErrNotFound)
	}
	if after != nil {
		return objstore.ObjectInfo{}, after
	}
	return objstore.ObjectInfo{Key: key, Size: int64(len(obj))}, nil
}

// Delete implements objstore.Store.
func (m *Mem) Delete(ctx context.Context, key string) error {
	if err := objstore.CheckKey(key); err != nil {
		return err
	}
	before, after := m.enter(ctx, OpDelete)
	if before != nil {
		return before
	}
	m.mu.Lock()
	delete(m.mu.objects, key)
	m.mu.Unlock()
	return after
}

// List implements objstore.Store.
func (m *Mem) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	before, after := m.enter(ctx, OpList)
	if before != nil {
		return nil, before
	}
	m.mu.Lock()
	var out []objstore.ObjectInfo
	for k, obj := range m.mu.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, objstore.ObjectInfo{Key: k, Size: int64(len(obj))})
		}
	}
	m.mu.Unlock()
	if after != nil {
		return nil, after
	}
	slices.SortFunc(out, func(a, b objstore.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
