package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/objstore/objstoretest"
)

var bucketSeq atomic.Int64

// newTestStore makes a Store on a new bucket of the server, with a key
// prefix and a small List page so that every List pages.
func newTestStore(t *testing.T, endpoint, access, secret string) *Store {
	t.Helper()
	ctx := context.Background()
	bucket := fmt.Sprintf("warren-test-%d", bucketSeq.Add(1))
	s, err := New(ctx, Options{
		Endpoint: endpoint, Bucket: bucket, AccessKey: access, SecretKey: secret,
		PathStyle: true, Prefix: "node-1/", MaxAttempts: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	s.pageSize = 5
	return s
}

func startFake(t *testing.T) string {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestContractGofakes3(t *testing.T) {
	url := startFake(t)
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		return newTestStore(t, url, "key", "secret")
	})
}

func TestContractVersityGW(t *testing.T) {
	srv := objstoretest.StartVersityGW(t)
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		return newTestStore(t, srv.Endpoint, srv.AccessKey, srv.SecretKey)
	})
}

// TestPrefixIsolation checks that two stores with different prefixes in
// one bucket see only their own objects.
func TestPrefixIsolation(t *testing.T) {
	url := startFake(t)
	ctx := context.Background()
	a := newTestStore(t, url, "key", "secret")
	b := *a
	b.prefix = "node-2/"
	if err := a.Put(ctx, "seg", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "seg"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("node-2 Stat of node-1's object err = %v, want ErrNotFound", err)
	}
	if list, err := b.List(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("node-2 List = %v, %v; want nothing", list, err)
	}
}

func TestOptionErrors(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{
		{Bucket: "ab", AccessKey: "k", SecretKey: "s"},
		{Bucket: "bucket", AccessKey: "k"},
		{Bucket: "bucket", SecretKey: "s"},
	} {
		if _, err := New(ctx, o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func TestRangeLen(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		cr      *string
		off, n  int64
		want    int64
		wantErr error
	}{
		{s("bytes 0-9/100"), 0, 10, 10, nil},
		{s("bytes 10-99/100"), 10, -1, 90, nil},
		{s("bytes 95-99/100"), 95, 10, 0, objstore.ErrOutOfRange},
		{nil, 0, 10, 0, errAny},
		{s("bytes 0-99/100"), 10, 10, 0, errAny},  // the server ignored the offset
		{s("bytes 10-14/100"), 10, 10, 0, errAny}, // short, yet not at the end
		{s("garbage"), 0, 1, 0, errAny},
	} {
		got, err := rangeLen(tc.cr, tc.off, tc.n)
		switch {
		case tc.wantErr == nil && (err != nil || got != tc.want):
			t.Errorf("rangeLen(%v, %d, %d) = %d, %v; want %d", aws.ToString(tc.cr), tc.off, tc.n, got, err, tc.want)
		case tc.wantErr == errAny && err == nil,
			tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
			t.Errorf("rangeLen(%v, %d, %d) err = %v, want %v", aws.ToString(tc.cr), tc.off, tc.n, err, tc.wantErr)
		}
	}
}

var errAny = errors.New("any error")
