// Package objstoretest is the contract every objstore.Store meets, as a test
// suite that each implementation runs against itself: the folder, gofakes3
// in-process, and a real S3-compatible server (versitygw).
package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/warrenmq/warren/storage-node/objstore"
)

// Run runs the contract suite. newStore must return an empty store of its
// own for each call (each subtest calls it once).
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"PutGetStat", testPutGetStat},
		{"Ranges", testRanges},
		{"EmptyObject", testEmptyObject},
		{"Overwrite", testOverwrite},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"List", testList},
		{"ListMany", testListMany},
		{"InvalidKeys", testInvalidKeys},
		{"LargeObject", testLargeObject},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var ctx = context.Background()

func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t *testing.T, s objstore.Store, key string, body []byte) {
	t.Helper()
	if err := s.Put(ctx, key, body); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(body), err)
	}
}

func mustGet(t *testing.T, s objstore.Store, key string, off, n int64) []byte {
	t.Helper()
	b, err := s.GetRange(ctx, key, off, n)
	if err != nil {
		t.Fatalf("GetRange(%q, %d, %d): %v", key, off, n, err)
	}
	return b
}

func testPutGetStat(t *testing.T, s objstore.Store) {
	body := pattern(1000, 1)
	mustPut(t, s, "q/0001/seg", body)
	if got := mustGet(t, s, "q/0001/seg", 0, -1); !bytes.Equal(got, body) {
		t.Fatalf("GetRange whole: got %d bytes, want the %d put", len(got), len(body))
	}
	info, err := s.Stat(ctx, "q/0001/seg")
	if err != nil || info != (objstore.ObjectInfo{Key: "q/0001/seg", Size: 1000}) {
		t.Fatalf("Stat = %+v, %v; want size 1000", info, err)
	}
}

func testRanges(t *testing.T, s objstore.Store) {
	const size = 4096
	body := pattern(size, 2)
	mustPut(t, s, "r", body)
	for _, tc := range []struct {
		off, n int64
		err    error
	}{
		{0, size, nil}, {0, 1, nil}, {1, 100, nil}, {size - 1, 1, nil}, {100, -1, nil},
		{size - 40, -1, nil}, {size, -1, nil}, {size, 0, nil}, {0, 0, nil}, {17, 0, nil},
		{size - 1, 2, objstore.ErrOutOfRange}, {0, size + 1, objstore.ErrOutOfRange},
		{size, 1, objstore.ErrOutOfRange}, {size + 1, -1, objstore.ErrOutOfRange},
		{size + 1, 0, objstore.ErrOutOfRange}, {size + 100, 10, objstore.ErrOutOfRange},
		{-1, 1, objstore.ErrOutOfRange},
	} {
		got, err := s.GetRange(ctx, "r", tc.off, tc.n)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("GetRange(%d, %d) = %d bytes, %v; want %v", tc.off, tc.n, len(got), err, tc.err)
			}
			continue
		}
		end := int64(size)
		if tc.n >= 0 {
			end = tc.off + tc.n
		}
		if err != nil || !bytes.Equal(got, body[tc.off:end]) {
			t.Errorf("GetRange(%d, %d) = %d bytes, %v; want bytes [%d, %d)", tc.off, tc.n, len(got), err, tc.off, end)
		}
	}
}

func testEmptyObject(t *testing.T, s objstore.Store) {
	mustPut(t, s, "empty", nil)
	if info, err := s.Stat(ctx, "empty"); err != nil || info.Size != 0 {
		t.Fatalf("Stat = %+v, %v; want size 0", info, err)
	}
	if got := mustGet(t, s, "empty", 0, -1); len(got) != 0 {
		t.Fatalf("GetRange(0, -1) = %d bytes, want 0", len(got))
	}
	if _, err := s.GetRange(ctx, "empty", 0, 1); !errors.Is(err, objstore.ErrOutOfRange) {
		t.Fatalf("GetRange(0, 1) err = %v, want ErrOutOfRange", err)
	}
	if list, err := s.List(ctx, ""); err != nil || len(list) != 1 || list[0].Size != 0 {
		t.Fatalf("List = %+v, %v; want the empty object", list, err)
	}
}

func testOverwrite(t *testing.T, s objstore.Store) {
	mustPut(t, s, "a/b", pattern(300, 3))
	second := pattern(100, 4)
	mustPut(t, s, "a/b", second)
	if got := mustGet(t, s, "a/b", 0, -1); !bytes.Equal(got, second) {
		t.Fatalf("after overwrite: got %d bytes, want the second body (%d)", len(got), len(second))
	}
}

func testNotFound(t *testing.T, s objstore.Store) {
	mustPut(t, s, "dir/present", []byte("x"))
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/present/below", "nodir/x"} {
		if _, err := s.GetRange(ctx, key, 0, -1); !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("GetRange(%q, 0, -1) err = %v, want ErrNotFound", key, err)
		}
		if _, err := s.GetRange(ctx, key, 0, 1); !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("GetRange(%q, 0, 1) err = %v, want ErrNotFound", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("Stat(%q) err = %v, want ErrNotFound", key, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key: %v", key, err)
		}
	}
	if got := mustGet(t, s, "dir/present", 0, -1); string(got) != "x" {
		t.Fatalf("dir/present = %q after deletes of missing keys, want x", got)
	}
}

func testDelete(t *testing.T, s objstore.Store) {
	mustPut(t, s, "q/1/a", []byte("a"))
	mustPut(t, s, "q/1/b", []byte("b"))
	for range 2 { // the second Delete finds nothing: not an error
		if err := s.Delete(ctx, "q/1/a"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if _, err := s.Stat(ctx, "q/1/a"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Stat after Delete err = %v, want ErrNotFound", err)
	}
	assertList(t, s, "", "q/1/b")
	if err := s.Delete(ctx, "q/1/b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertList(t, s, "")
	mustPut(t, s, "q/1/c", []byte("c")) // the directories a folder pruned come back
	assertList(t, s, "", "q/1/c")
}

func assertList(t *testing.T, s objstore.Store, prefix string, want ...string) {
	t.Helper()
	list, err := s.List(ctx, prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	got := make([]string, len(list))
	for i, o := range list {
		got[i] = o.Key
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List(%q) = %q, want %q", prefix, got, want)
	}
}

func testList(t *testing.T, s objstore.Store) {
	keys := []string{"q/0001/seg-1", "q/0001/seg-2", "q/0002/seg-1", "q/00010/x", "q.top", "r"}
	for i, k := range keys {
		mustPut(t, s, k, pattern(i+1, uint64(i)))
	}
	sorted := slices.Sorted(slices.Values(keys))
	assertList(t, s, "", sorted...)
	assertList(t, s, "q/", "q/0001/seg-1", "q/0001/seg-2", "q/00010/x", "q/0002/seg-1")
	assertList(t, s, "q/0001/", "q/0001/seg-1", "q/0001/seg-2")
	assertList(t, s, "q/0001", "q/0001/seg-1", "q/0001/seg-2", "q/00010/x")
	assertList(t, s, "q/0001/seg-", "q/0001/seg-1", "q/0001/seg-2")
	assertList(t, s, "q", "q.top", "q/0001/seg-1", "q/0001/seg-2", "q/00010/x", "q/0002/seg-1")
	assertList(t, s, "q/0003/")
	assertList(t, s, "zzz")
	assertList(t, s, "r", "r")
	list, err := s.List(ctx, "q/0002/")
	if err != nil || len(list) != 1 || list[0].Size != 3 {
		t.Fatalf("List(q/0002/) = %+v, %v; want one object of 3 bytes", list, err)
	}
}

// testListMany lists more objects than a small page holds.
func testListMany(t *testing.T, s objstore.Store) {
	var want []string
	for i := range 23 {
		k := fmt.Sprintf("p/%03d", i)
		mustPut(t, s, k, []byte{byte(i)})
		want = append(want, k)
	}
	assertList(t, s, "p/", want...)
}

func testInvalidKeys(t *testing.T, s objstore.Store) {
	for _, key := range []string{"", "/abs", "..", ".", "../x", "a/../../x", "a/./b", "a//b", "a/", "a\\b", "a\x00b", string(make([]byte, objstore.MaxKeyLen+1))} {
		if err := s.Put(ctx, key, []byte("x")); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) err = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.GetRange(ctx, key, 0, -1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("GetRange(%q) err = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Stat(%q) err = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Delete(%q) err = %v, want ErrInvalidKey", key, err)
		}
	}
	assertList(t, s, "")
}

func testLargeObject(t *testing.T, s objstore.Store) {
	const size = 5<<20 + 17
	body := pattern(size, 5)
	mustPut(t, s, "big", body)
	r := rand.New(rand.NewPCG(6, 7))
	for range 20 {
		off := r.Int64N(size)
		n := r.Int64N(size - off + 1)
		if got := mustGet(t, s, "big", off, n); !bytes.Equal(got, body[off:off+n]) {
			t.Fatalf("GetRange(%d, %d): wrong bytes", off, n)
		}
	}
	if got := mustGet(t, s, "big", size-1000, -1); !bytes.Equal(got, body[size-1000:]) {
		t.Fatal("tail read: wrong bytes")
	}
}

// testConcurrent races readers against Puts: a reader sees an object whole
// or not at all, never a prefix.
func testConcurrent(t *testing.T, s objstore.Store) {
	const writers, size = 4, 256 << 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range writers {
		key := fmt.Sprintf("c/%d", w)
		body := pattern(size, uint64(100+w))
		wg.Go(func() {
			if err := s.Put(ctx, key, body); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			for {
				got, err := s.GetRange(ctx, key, 0, -1)
				if errors.Is(err, objstore.ErrNotFound) {
					continue
				}
				if err == nil && !bytes.Equal(got, body) {
					err = fmt.Errorf("read %s: %d bytes that are not the object put", key, len(got))
				}
				if err != nil {
					errs <- err
				}
				return
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if list, err := s.List(ctx, "c/"); err != nil || len(list) != writers {
		t.Fatalf("List(c/) = %d objects, %v; want %d", len(list), err, writers)
	}
}

func testCancelledContext(t *testing.T, s objstore.Store) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, "cancelled", []byte("x")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if _, err := s.Stat(ctx, "cancelled"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Stat after a cancelled Put err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRange(cctx, "cancelled", 0, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetRange with a cancelled context err = %v, want context.Canceled", err)
	}
}
