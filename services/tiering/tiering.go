// Package tiering turns the cold-tier settings of a process that holds a
// storage node (`warren serve`, `warren storage-node`) into the object store
// and tier bounds node.Options takes (storage-node/TIERING.md §8).
package tiering

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/objstore/folder"
	"github.com/warrenmq/warren/storage-node/objstore/s3"
	"github.com/warrenmq/warren/storage-node/tier"
)

// Store kinds.
const (
	Folder = "folder" // a local folder: the default, nothing to set up
	S3     = "s3"     // Amazon S3 or an S3-compatible server
	Off    = "off"    // no tiering: backlogs stay in Pebble
)

// Options choose the cold tier's store and bounds.
type Options struct {
	Kind   string // Folder, S3 or Off; empty means Folder
	Folder string // Folder's root; empty means the process's default
	S3     s3.Options
	// SecretKeyFile holds the S3 secret key when S3.SecretKey is empty,
	// so a secret never has to be on the command line.
	SecretKeyFile string
	Config        tier.Config
}

// Open makes the store Options name, nil when tiering is off. defaultFolder
// is used when Kind is Folder and no folder was given; it must not be inside
// Pebble's directory.
func (o Options) Open(ctx context.Context, defaultFolder string) (objstore.Store, error) {
	switch o.Kind {
	case "", Folder:
		dir := o.Folder
		if dir == "" {
			dir = defaultFolder
		}
		st, err := folder.New(dir)
		if err != nil {
			return nil, fmt.Errorf("cold tier folder %s: %w", dir, err)
		}
		return st, nil
	case S3:
		return o.openS3(ctx)
	case Off:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown cold tier %q: want %s, %s or %s", o.Kind, Folder, S3, Off)
}

func (o Options) openS3(ctx context.Context) (objstore.Store, error) {
	so := o.S3
	if so.Bucket == "" {
		return nil, errors.New("cold tier s3: a bucket is required (--s3-bucket)")
	}
	if so.SecretKey == "" && o.SecretKeyFile != "" {
		b, err := os.ReadFile(o.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("cold tier s3: secret key file: %w", err)
		}
		so.SecretKey = strings.TrimSpace(string(b))
	}
	if (so.AccessKey == "") != (so.SecretKey == "") {
		return nil, errors.New("cold tier s3: give both the access key and the secret key, or neither (the SDK's default chain)")
	}
	st, err := s3.New(ctx, so)
	if err != nil {
		return nil, fmt.Errorf("cold tier s3: %w", err)
	}
	return st, nil
}
