package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/warrenmq/warren/services/tiering"
	"github.com/warrenmq/warren/storage-node/tier"
)

// Both processes that hold a storage node take the same cold tier flags.
func TestTierFlagsOnServeAndStorageNode(t *testing.T) {
	for _, cmd := range []string{"serve", "storage-node"} {
		var help bytes.Buffer
		run([]string{cmd, "-h"}, &bytes.Buffer{}, &help)
		for _, want := range []string{"-tier string", `(default "folder")`, "-s3-bucket", "-s3-secret-key-file", "-hot-bytes int", "-queue-hot-bytes int"} {
			if !strings.Contains(help.String(), want) {
				t.Errorf("%s -h lacks %q:\n%s", cmd, want, help.String())
			}
		}
	}
}

func TestTierFlagsToOptions(t *testing.T) {
	t.Setenv("WARREN_S3_ACCESS_KEY", "env-key")
	t.Setenv("WARREN_S3_SECRET_KEY", "env-secret")
	parse := func(args ...string) tiering.Options {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		get := tierFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return get()
	}
	def := parse()
	if def.Kind != tiering.Folder || def.Config.HotBytes != tier.DefaultHotBytes || def.S3.PathStyle {
		t.Errorf("defaults: %+v", def)
	}
	o := parse("--tier", "s3", "--s3-endpoint", "http://127.0.0.1:7070", "--s3-bucket", "warren", "--queue-hot-bytes", "1048576")
	if !o.S3.PathStyle || o.S3.Bucket != "warren" || o.Config.QueueHotBytes != 1<<20 {
		t.Errorf("s3 flags: %+v", o)
	}
	if o.S3.AccessKey != "env-key" || o.S3.SecretKey != "env-secret" {
		t.Errorf("credentials from the environment: %q %q", o.S3.AccessKey, o.S3.SecretKey)
	}
	fromFile := parse("--s3-access-key", "flag-key", "--s3-secret-key-file", "/run/secret")
	if fromFile.S3.AccessKey != "flag-key" || fromFile.S3.SecretKey != "" || fromFile.SecretKeyFile != "/run/secret" {
		t.Errorf("a key file wins over the environment's secret: %+v", fromFile)
	}
}
