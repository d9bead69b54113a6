// Package s3 is an objstore.Store on Amazon S3 or any S3-compatible server
// (MinIO, versitygw, Ceph RGW…), through aws-sdk-go-v2. Objects live in one
// bucket under an optional key prefix; ranged reads use the Range header.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/warrenmq/warren/storage-node/objstore"
)

// Defaults of Options.
const (
	DefaultRegion          = "us-east-1"
	DefaultMaxAttempts     = 5
	DefaultResponseTimeout = 30 * time.Second
	dialTimeout            = 5 * time.Second
	listPageSize           = 1000 // S3's maximum
)

// Options configure a Store.
type Options struct {
	// Endpoint is the server's URL (http://127.0.0.1:7070); empty means AWS,
	// with the endpoint the SDK derives from Region (or AWS_ENDPOINT_URL).
	Endpoint string
	Region   string // DefaultRegion when empty
	Bucket   string // required; it must exist
	// AccessKey and SecretKey are static credentials; when both are empty
	// the SDK's default chain (environment, shared files, IAM role…) is used.
	AccessKey string
	SecretKey string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key), as
	// most S3-compatible servers need, instead of as a host name.
	PathStyle bool
	// Prefix is put before every key (and stripped from List results):
	// "warren/node-1/" keeps several nodes apart in one bucket.
	Prefix string
	// MaxAttempts bounds the tries of one call, retries of throttling and
	// 5xx answers with backoff included (DefaultMaxAttempts when 0).
	MaxAttempts int
	// ResponseTimeout bounds the wait for a response's headers, per
	// attempt (DefaultResponseTimeout when 0). The caller's context bounds
	// the whole call.
	ResponseTimeout time.Duration
}

// Store is an S3-backed objstore.Store, safe for concurrent use.
type Store struct {
	client   *awss3.Client
	bucket   string
	prefix   string
	pageSize int32 // List page size; tests lower it to exercise paging
}

var _ objstore.Store = (*Store)(nil)

// New makes a Store. It does no network I/O except what the SDK's default
// credential chain may do when no static credentials are given.
func New(ctx context.Context, o Options) (*Store, error) {
	cfg, err := loadConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	client := awss3.NewFromConfig(cfg, func(so *awss3.Options) {
		so.UsePathStyle = o.PathStyle
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	return &Store{client: client, bucket: o.Bucket, prefix: o.Prefix, pageSize: listPageSize}, nil
}

func loadConfig(ctx context.Context, o Options) (aws.Config, error) {
	if len(o.Bucket) < 3 {
		return aws.Config{}, fmt.Errorf("s3: bucket name %q: at least 3 characters", o.Bucket)
	}
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return aws.Config{}, errors.New("s3: give both access key and secret key, or neither")
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.ResponseTimeout <= 0 {
		o.ResponseTimeout = DefaultResponseTimeout
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(o.Region),
		config.WithRetryMaxAttempts(o.MaxAttempts),
		config.WithHTTPClient(httpClient(o.ResponseTimeout)),
		// Checksums only where S3 requires them: S3-compatible servers
		// differ in what they accept, and segments carry their own CRCs.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if o.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("s3: load config: %w", err)
	}
	return cfg, nil
}

// httpClient is this Store's own client: no state shared with other users
// of http.DefaultTransport.
func httpClient(responseTimeout time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = dialTimeout
			tr.ResponseHeaderTimeout = responseTimeout
		})
}

// Put uploads body in one PutObject, which S3 makes visible atomically.
func (s *Store) Put(ctx context.Context, key string, body []byte) error {
	if err := objstore.CheckKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &s.bucket,
		Key:    aws.String(s.prefix + key),
		// A bytes.Reader is seekable: the SDK needs that to sign the
		// payload and to rewind it for a retry.
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, mapErr(err))
	}
	return nil
}

// GetRange reads n bytes at off (to the end when n < 0) with one ranged
// GetObject, and checks the Content-Range of the answer so that a server
// that ignored the Range header cannot pass off the wrong bytes.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := objstore.CheckKey(key); err != nil {
		return nil, err
	}
	if err := objstore.CheckRange(off, n); err != nil {
		return nil, err
	}
	if n == 0 {
		return s.emptyRange(ctx, key, off) // HTTP cannot ask for zero bytes
	}
	rng := fmt.Sprintf("bytes=%d-", off)
	if n > 0 {
		rng += strconv.FormatInt(off+n-1, 10)
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.prefix + key), Range: &rng,
	})
	if err != nil {
		err = mapErr(err)
		if n < 0 && errors.Is(err, objstore.ErrOutOfRange) {
			return s.emptyRange(ctx, key, off) // "bytes=size-" is refused by S3
		}
		return nil, fmt.Errorf("s3 get %s %s: %w", key, rng, err)
	}
	defer out.Body.Close()
	want, err := rangeLen(out.ContentRange, off, n)
	if err != nil {
		return nil, fmt.Errorf("s3 get %s %s: %w", key, rng, err)
	}
	buf := make([]byte, want)
	if _, err := io.ReadFull(out.Body, buf); err != nil {
		return nil, fmt.Errorf("s3 get %s %s: read body: %w", key, rng, err)
	}
	return buf, nil
}

// emptyRange answers a read of zero bytes at off: empty if off is within
// or at the end of the object.
func (s *Store) emptyRange(ctx context.Context, key string, off int64) ([]byte, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if off > info.Size {
		return nil, fmt.Errorf("s3 get %s at %d of %d bytes: %w", key, off, info.Size, objstore.ErrOutOfRange)
	}
	return []byte{}, nil
}

// rangeLen parses a Content-Range "bytes first-last/size" and returns the
// number of bytes it announces, which must start at off and, for n >= 0,
// be n bytes (fewer means the object ends first: ErrOutOfRange).
func rangeLen(cr *string, off, n int64) (int64, error) {
	if cr == nil {
		return 0, errors.New("answer has no Content-Range: the server ignored Range")
	}
	var first, last, size int64
	if _, err := fmt.Sscanf(*cr, "bytes %d-%d/%d", &first, &last, &size); err != nil || first != off || last < first {
		return 0, fmt.Errorf("unexpected Content-Range %q", *cr)
	}
	got := last - first + 1
	if n >= 0 && got != n {
		if got < n && last == size-1 {
			return 0, fmt.Errorf("object has %d bytes: %w", size, objstore.ErrOutOfRange)
		}
		return 0, fmt.Errorf("unexpected Content-Range %q", *cr)
	}
	return got, nil
}

// Stat returns the object's size through HeadObject. S3 answers a HEAD
// with a bare 404 whether the key or the bucket is missing, so a missing
// bucket also shows as objstore.ErrNotFound here.
func (s *Store) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := objstore.CheckKey(key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + key)})
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("s3 stat %s: %w", key, mapErr(err))
	}
	return objstore.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength)}, nil
}

// Delete removes the object; S3 answers success for a missing key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := objstore.CheckKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + key)})
	if err != nil && !errors.Is(mapErr(err), objstore.ErrNotFound) {
		return fmt.Errorf("s3 delete %s: %w", key, mapErr(err))
	}
	return nil
}

// List pages through ListObjectsV2 under the store's prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: aws.String(s.prefix + prefix), MaxKeys: aws.Int32(s.pageSize),
	})
	var out []objstore.ObjectInfo
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3 list %q: %w", prefix, mapErr(err))
		}
		for _, o := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(o.Key), s.prefix)
			if !ok {
				return nil, fmt.Errorf("s3 list %q: key %q outside prefix %q", prefix, aws.ToString(o.Key), s.prefix)
			}
			out = append(out, objstore.ObjectInfo{Key: key, Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// mapErr wraps the objstore error that an S3 error code means, keeping the
// original for its message.
func mapErr(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w: %w", objstore.ErrNotFound, err)
	case "InvalidRange":
		return fmt.Errorf("%w: %w", objstore.ErrOutOfRange, err)
	}
	return err
}
