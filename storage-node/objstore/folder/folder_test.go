package folder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
)

func newStore(t *testing.T) *Store {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return newStore(t) })
}

// TestNoTempFilesLeft checks that a Put leaves only the object behind, and
// that the files of a Put a crash interrupted are neither listed nor kept.
func TestNoTempFilesLeft(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, "q/1/seg", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "q", "1"))
	if err != nil || len(entries) != 1 || entries[0].Name() != "seg" {
		t.Fatalf("directory holds %v (%v), want only seg", entries, err)
	}
	crashed := filepath.Join(s.Dir(), "q", "1", tempPrefix+"123")
	if err := os.WriteFile(crashed, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if list, err := s.List(ctx, ""); err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v; want only q/1/seg", list, err)
	}
	if _, err := New(s.Dir()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(crashed); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New left the temporary file of a crashed Put: %v", err)
	}
	if got, err := s.GetRange(ctx, "q/1/seg", 0, -1); err != nil || string(got) != "abc" {
		t.Fatalf("object after sweep = %q, %v", got, err)
	}
}

func TestReservedTempKeys(t *testing.T) {
	s := newStore(t)
	for _, key := range []string{tempPrefix + "x", "q/" + tempPrefix + "x"} {
		if err := s.Put(context.Background(), key, nil); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) err = %v, want ErrInvalidKey", key, err)
		}
	}
}

// TestDeletePrunesDirectories checks that deleting a queue's last segment
// leaves no empty directories behind, and stops at the root.
func TestDeletePrunesDirectories(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, k := range []string{"a/b/c/1", "a/x"} {
		if err := s.Put(ctx, k, []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "a/b/c/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "a", "b")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a/b left after its last object went: %v", err)
	}
	if err := s.Delete(ctx, "a/x"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil || len(entries) != 0 {
		t.Fatalf("root holds %v (%v), want nothing and the root itself kept", entries, err)
	}
}

func TestListRefusesEscapingPrefix(t *testing.T) {
	s := newStore(t)
	for _, p := range []string{"../", "a/../../", "/etc/"} {
		if _, err := s.List(context.Background(), p); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("List(%q) err = %v, want ErrInvalidKey", p, err)
		}
	}
}

// TestPutRacesDelete puts and deletes objects in the same directories at
// once: pruning a directory must not make a concurrent Put fail.
func TestPutRacesDelete(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("q/%d/x/%d-%d", i%3, g, i)
				if err := s.Put(ctx, key, []byte("v")); err != nil {
					errs <- err
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
