package main

import (
	"flag"
	"os"

	"github.com/warrenmq/warren/services/tiering"
	"github.com/warrenmq/warren/storage-node/objstore/s3"
	"github.com/warrenmq/warren/storage-node/tier"
)

// tierFlags registers the cold tier's flags (storage-node/TIERING.md §8),
// the same for `serve` and `storage-node`. The function it returns, called
// once fs is parsed, gives them as tiering.Options, the S3 credentials
// taken from $WARREN_S3_ACCESS_KEY and $WARREN_S3_SECRET_KEY when the
// flags leave them out (a secret never needs to be on the command line).
func tierFlags(fs *flag.FlagSet) func() tiering.Options {
	var o tiering.Options
	fs.StringVar(&o.Kind, "tier", tiering.Folder, "where cold queue data goes: folder, s3 or off")
	fs.StringVar(&o.Folder, "tier-folder", "", "the folder store's root (default: beside the data dir's Pebble store)")
	fs.StringVar(&o.S3.Endpoint, "s3-endpoint", "", "S3-compatible server URL (empty: AWS)")
	fs.StringVar(&o.S3.Region, "s3-region", s3.DefaultRegion, "S3 region")
	fs.StringVar(&o.S3.Bucket, "s3-bucket", "", "S3 bucket (must exist)")
	fs.StringVar(&o.S3.Prefix, "s3-prefix", "warren/", "key prefix inside the bucket")
	pathStyle := fs.Bool("s3-path-style", false, "address the bucket in the path (always on with --s3-endpoint)")
	fs.StringVar(&o.S3.AccessKey, "s3-access-key", "", "S3 access key (default: $WARREN_S3_ACCESS_KEY, else the SDK's chain)")
	fs.StringVar(&o.SecretKeyFile, "s3-secret-key-file", "", "file holding the S3 secret key (default: $WARREN_S3_SECRET_KEY, else the SDK's chain)")
	c := &o.Config
	fs.Int64Var(&c.HotBytes, "hot-bytes", tier.DefaultHotBytes, "the node's hot budget in bytes: offloading from half of it, publishers blocked at it")
	fs.Int64Var(&c.QueueHotBytes, "queue-hot-bytes", tier.DefaultQueueHotBytes, "a queue's hot bytes past which it offloads")
	fs.Int64Var(&c.SegmentBytes, "segment-bytes", tier.DefaultSegmentBytes, "target size of a segment object")
	fs.Int64Var(&c.ReadAheadBytes, "read-ahead-bytes", tier.DefaultReadAheadBytes, "the node's bound on cold data read ahead")
	fs.Int64Var(&c.QueueReadAheadBytes, "queue-read-ahead-bytes", tier.DefaultQueueReadAheadBytes, "a queue's bound on cold data read ahead")
	return func() tiering.Options {
		o.S3.PathStyle = *pathStyle || o.S3.Endpoint != ""
		if o.S3.AccessKey == "" {
			o.S3.AccessKey = os.Getenv("WARREN_S3_ACCESS_KEY")
		}
		if o.SecretKeyFile == "" {
			o.S3.SecretKey = os.Getenv("WARREN_S3_SECRET_KEY")
		}
		return o
	}
}
