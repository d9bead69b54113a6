// Package folder is an objstore.Store on a local directory, the cold tier
// of `warren serve`. A key is a path under the directory ('/' makes
// subdirectories). Put writes a temporary file next to the target, fsyncs
// it, renames it into place and fsyncs the directory, so an object is
// either whole or absent after a crash.
//
// One Store owns its directory: New removes the temporary files a crash
// left, which would break a Put of another process in progress there.
package folder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/warrenmq/warren/storage-node/objstore"
)

// tempPrefix starts the name of every temporary file. Keys with a segment
// that starts with it are refused, so List never mistakes one for an object.
const tempPrefix = ".warren-tmp-"

// Store is a folder-backed objstore.Store, safe for concurrent use.
type Store struct {
	root string // absolute, cleaned

	// dirs orders directory pruning (write side) against a Put making its
	// directory and temporary file (read side). Once the temporary file
	// exists the directory is not empty and pruning cannot remove it, so a
	// Put never loses its directory to a concurrent Delete.
	dirs sync.RWMutex
}

var _ objstore.Store = (*Store)(nil)

// New opens (creating it if needed) the store rooted at dir and removes the
// temporary files of Puts that a crash interrupted.
func New(dir string) (*Store, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("object folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("object folder: %w", err)
	}
	s := &Store{root: root}
	if err := s.removeTemps(); err != nil {
		return nil, fmt.Errorf("object folder %s: sweep temporary files: %w", root, err)
	}
	return s, nil
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.root }

// path maps a valid key to its file path under the root.
func (s *Store) path(key string) (string, error) {
	if err := objstore.CheckKey(key); err != nil {
		return "", err
	}
	if strings.HasPrefix(key, tempPrefix) || strings.Contains(key, "/"+tempPrefix) {
		return "", fmt.Errorf("key %q: segment starts with reserved %q: %w", key, tempPrefix, objstore.ErrInvalidKey)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put writes body to a temporary file in the key's directory, fsyncs it,
// renames it over the key and fsyncs the directory. On error the temporary
// file is removed and the previous object, if any, is untouched.
func (s *Store) Put(ctx context.Context, key string, body []byte) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := s.createTemp(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := f.Name()
	if err := writeSync(f, body); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// createTemp creates a temporary file in dir, making dir (durably) first.
func (s *Store) createTemp(dir string) (*os.File, error) {
	s.dirs.RLock()
	defer s.dirs.RUnlock()
	if err := s.mkdirAll(dir); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, tempPrefix+"*")
}

func writeSync(f *os.File, body []byte) error {
	_, err := f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAll makes dir and its missing parents under the root, fsyncing each
// parent that gained an entry, so a renamed object's path survives a crash.
func (s *Store) mkdirAll(dir string) error {
	if dir == s.root {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirAll(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made by a concurrent Put
		}
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// GetRange reads n bytes at off (to the end when n < 0).
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	path, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := objstore.CheckRange(off, n); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, size, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer f.Close()
	if n < 0 {
		n = size - off
	}
	if n < 0 || off+n > size {
		return nil, fmt.Errorf("get %s [%d, +%d) of %d bytes: %w", key, off, n, size, objstore.ErrOutOfRange)
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			err = objstore.ErrOutOfRange // shrank under us: Put never does that
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return buf, nil
}

// openRegular opens path for reading if it is a regular file; a missing
// file or a directory (a key that is only a prefix of others) is
// objstore.ErrNotFound.
func openRegular(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, objstore.ErrNotFound
	}
	return f, fi.Size(), nil
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w (%v)", objstore.ErrNotFound, err)
	}
	return err
}

// Stat returns the object's size.
func (s *Store) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	path, err := s.path(key)
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return objstore.ObjectInfo{}, err
	}
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = objstore.ErrNotFound
	}
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, notFound(err))
	}
	return objstore.ObjectInfo{Key: key, Size: fi.Size()}, nil
}

// Delete removes the object's file and then its parent directories that
// became empty. It does not fsync: an object that reappears after a crash
// is an orphan that the node's List sweep removes again.
func (s *Store) Delete(ctx context.Context, key string) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.IsDir() {
		if err == nil || errors.Is(notFound(err), objstore.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	s.pruneDirs(filepath.Dir(path))
	return nil
}

// pruneDirs removes dir and its ancestors below the root while they are
// empty; the first that is not (os.Remove fails) stops it.
func (s *Store) pruneDirs(dir string) {
	s.dirs.Lock()
	defer s.dirs.Unlock()
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// List walks the directory that holds prefix's last '/' and returns the
// objects whose key starts with prefix, sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	base := s.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		p, err := s.path(prefix[:i])
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, err)
		}
		base = p
	}
	var out []objstore.ObjectInfo
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil // base missing (or a file), or removed during the walk
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, path)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return notFoundIsNil(err)
		}
		out = append(out, objstore.ObjectInfo{Key: key, Size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	slices.SortFunc(out, func(a, b objstore.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func notFoundIsNil(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil // deleted during the walk
	}
	return err
}

// removeTemps deletes every temporary file under the root.
func (s *Store) removeTemps() error {
	return filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return notFoundIsNil(err)
		}
		if d.Type().IsRegular() && strings.HasPrefix(d.Name(), tempPrefix) {
			return notFoundIsNil(os.Remove(path))
		}
		return nil
	})
}
