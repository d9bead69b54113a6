package tiering

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warrenmq/warren/storage-node/objstore/s3"
)

func TestOpenFolderDefaultsAndOff(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cold")
	st, err := Options{}.Open(ctx, dir)
	if err != nil || st == nil {
		t.Fatalf("default folder store: %v, %v", st, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the default folder was not created: %v", err)
	}
	if st, err := (Options{Kind: Off}).Open(ctx, dir); err != nil || st != nil {
		t.Errorf("off: store %v, err %v; want nil, nil", st, err)
	}
	if _, err := (Options{Kind: "tape"}).Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "unknown cold tier") {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestOpenS3Checks(t *testing.T) {
	ctx := context.Background()
	if _, err := (Options{Kind: S3}).Open(ctx, ""); err == nil || !strings.Contains(err.Error(), "bucket is required") {
		t.Errorf("no bucket: %v", err)
	}
	half := Options{Kind: S3, S3: s3.Options{Bucket: "bkt", AccessKey: "k"}}
	if _, err := half.Open(ctx, ""); err == nil || !strings.Contains(err.Error(), "or neither") {
		t.Errorf("access key without secret: %v", err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := Options{Kind: S3, S3: s3.Options{Bucket: "bkt", AccessKey: "k", Endpoint: "http://127.0.0.1:1"}, SecretKeyFile: secret}
	if st, err := fromFile.Open(ctx, ""); err != nil || st == nil {
		t.Errorf("secret from a file: %v, %v", st, err)
	}
	missing := Options{Kind: S3, S3: s3.Options{Bucket: "bkt", AccessKey: "k"}, SecretKeyFile: filepath.Join(t.TempDir(), "none")}
	if _, err := missing.Open(ctx, ""); err == nil || !strings.Contains(err.Error(), "secret key file") {
		t.Errorf("missing secret file: %v", err)
	}
}
