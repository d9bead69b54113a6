package apiauth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// AdminTokenFile is the file, in a control plane's data folder, holding the
// admin token it generated because it was given none.
const AdminTokenFile = "api-admin-token"

// LoadOrCreateAdminToken returns the admin token kept in dir, generating
// and keeping one the first time. A managed deployment gives its own token
// (--admin-token or WARREN_ADMIN_TOKEN, from its secret store); one started
// without gets a token that survives restarts, in a file only its owner
// can read, rather than printed to a log that others read. created reports
// a new token, so the caller can say where it is.
func LoadOrCreateAdminToken(dir string) (token string, created bool, err error) {
	path := filepath.Join(dir, AdminTokenFile)
	token, err = readToken(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return token, false, err
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("admin token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		token, err = readToken(path)
		return token, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("admin token: %w", err)
	}
	_, werr := f.WriteString(token + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return "", false, fmt.Errorf("admin token %s: %w", path, err)
	}
	return token, true, nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(b))
	if len(token) < MinAdminTokenLen {
		return "", fmt.Errorf("admin token in %s is shorter than %d characters", path, MinAdminTokenLen)
	}
	return token, nil
}
