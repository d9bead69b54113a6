package segment

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata golden files")

// testRecords makes n records with varied fields, IDs from first with gaps.
func testRecords(n int, first storage.MsgID, seed uint64) []Record {
	r := rand.New(rand.NewPCG(seed, seed+1))
	recs := make([]Record, n)
	id := first
	for i := range recs {
		body := make([]byte, r.IntN(300))
		for j := range body {
			body[j] = byte(r.Uint32())
		}
		m := &storage.Message{
			Exchange:   fmt.Sprintf("ex-%d", r.IntN(3)),
			RoutingKey: fmt.Sprintf("rk.%d", i),
			Body:       body,
			Persistent: r.IntN(2) == 0,
			Priority:   uint8(r.IntN(10)),
			TTL:        -1,
		}
		if i%3 == 0 {
			m.Properties = []byte{0x80, 0x00, byte(i)}
			m.TTL = int64(r.IntN(100000))
		}
		if i%4 == 0 {
			m.Exchange, m.Body = "", nil // the default exchange, an empty body
		}
		recs[i] = Record{ID: id, Msg: m, Expiry: int64(r.IntN(2)) * 1_760_000_000_000, Redelivered: i%5 == 0}
		id += storage.MsgID(1 + r.IntN(3))
	}
	return recs
}

// equalRecords compares records by value, nil and empty slices alike.
func equalRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	norm := func(r Record) Record {
		m := *r.Msg
		if len(m.Properties) == 0 {
			m.Properties = nil
		}
		if len(m.Body) == 0 {
			m.Body = nil
		}
		r.Msg = &m
		return r
	}
	for i := range got {
		g, w := norm(got[i]), norm(want[i])
		if g.ID != w.ID || g.Expiry != w.Expiry || g.Redelivered != w.Redelivered || !reflect.DeepEqual(*g.Msg, *w.Msg) {
			t.Fatalf("record %d:\n got %+v %+v\nwant %+v %+v", i, g, *g.Msg, w, *w.Msg)
		}
	}
}

func mustBuild(t testing.TB, recs []Record) []byte {
	t.Helper()
	obj, err := Build(recs)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 7, 1000} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			want := testRecords(n, 42, uint64(n))
			obj := mustBuild(t, want)
			got, ix, err := Decode(obj)
			if err != nil {
				t.Fatal(err)
			}
			equalRecords(t, got, want)
			if ix.Len() != n || ix.ID(0) != want[0].ID || ix.ID(n-1) != want[n-1].ID {
				t.Fatalf("index: %d records %d..%d", ix.Len(), ix.ID(0), ix.ID(ix.Len()-1))
			}
		})
	}
}

func TestExtremeValues(t *testing.T) {
	want := []Record{
		{ID: 0, Msg: &storage.Message{TTL: math.MinInt64}, Expiry: math.MinInt64},
		{ID: 1, Msg: &storage.Message{TTL: math.MaxInt64, Priority: 255, Persistent: true}, Expiry: math.MaxInt64, Redelivered: true},
		{ID: math.MaxUint64, Msg: &storage.Message{Exchange: string(make([]byte, 300)), Body: make([]byte, 1<<20)}},
	}
	got, _, err := Decode(mustBuild(t, want))
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, want)
}

// TestWriterSize checks that Size predicts the object exactly, which is
// what a caller cutting segments at a size relies on.
func TestWriterSize(t *testing.T) {
	w := NewWriter(make([]byte, 0, 64))
	for i, r := range testRecords(50, 1, 9) {
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
		if w.Len() != i+1 {
			t.Fatalf("Len = %d, want %d", w.Len(), i+1)
		}
	}
	size := w.Size()
	obj, err := w.Finish()
	if err != nil || len(obj) != size {
		t.Fatalf("Finish = %d bytes, %v; Size said %d", len(obj), err, size)
	}
}

func TestWriterRefuses(t *testing.T) {
	m := &storage.Message{TTL: -1}
	for _, tc := range []struct {
		name string
		recs []Record
		err  error
	}{
		{"empty", nil, ErrEmpty},
		{"equal IDs", []Record{{ID: 5, Msg: m}, {ID: 5, Msg: m}}, nil},
		{"decreasing IDs", []Record{{ID: 5, Msg: m}, {ID: 4, Msg: m}}, nil},
		{"nil message", []Record{{ID: 5}}, nil},
	} {
		_, err := Build(tc.recs)
		if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
			t.Errorf("%s: Build err = %v, want %v", tc.name, err, tc.err)
		}
	}
	w := NewWriter(nil)
	w.Add(&Record{ID: 5, Msg: m})
	before := w.Size()
	if err := w.Add(&Record{ID: 3, Msg: m}); err == nil || w.Size() != before || w.Len() != 1 {
		t.Fatalf("refused Add changed the writer: err %v, size %d -> %d", err, before, w.Size())
	}
}

// openTail reads a segment the way the node will: the last tailGuess
// bytes, then the exact tail if the index did not fit.
func openTail(t *testing.T, obj []byte, tailGuess int) *Index {
	t.Helper()
	tail := obj[max(0, len(obj)-tailGuess):]
	tr, err := ReadTrailer(tail)
	if err != nil {
		t.Fatal(err)
	}
	if tr.ObjectSize() != int64(len(obj)) {
		t.Fatalf("trailer ObjectSize %d, object %d", tr.ObjectSize(), len(obj))
	}
	if int64(len(tail)) < tr.TailSize() {
		tail = obj[int64(len(obj))-tr.TailSize():]
	}
	ix, err := ReadIndex(tail, tr)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestRangeReads reads every run of records [i, j) through the index,
// as ranged reads at record boundaries, and also finds records by ID.
func TestRangeReads(t *testing.T) {
	want := testRecords(40, 1000, 3)
	obj := mustBuild(t, want)
	for _, guess := range []int{TrailerSize, 4096, len(obj)} {
		ix := openTail(t, obj, guess)
		for i := 0; i <= len(want); i++ {
			for j := i; j <= len(want); j++ {
				off, n := ix.Range(i, j)
				got, err := ix.Records(obj[off:off+n], i, j)
				if err != nil {
					t.Fatalf("Records(%d, %d): %v", i, j, err)
				}
				equalRecords(t, got, want[i:j])
			}
		}
	}
	ix := openTail(t, obj, TrailerSize)
	for i, r := range want {
		if got := ix.Search(r.ID); got != i {
			t.Fatalf("Search(%d) = %d, want %d", r.ID, got, i)
		}
		if got := ix.Search(r.ID - 1); i > 0 && want[i-1].ID < r.ID-1 && got != i {
			t.Fatalf("Search(%d) (a gap) = %d, want %d", r.ID-1, got, i)
		}
	}
	if got := ix.Search(0); got != 0 {
		t.Fatalf("Search(0) = %d", got)
	}
	if got := ix.Search(want[len(want)-1].ID + 1); got != len(want) {
		t.Fatalf("Search(past last) = %d, want %d", got, len(want))
	}
}

// TestRecordsChecksTheRange gives Records bytes read at the wrong range.
func TestRecordsChecksTheRange(t *testing.T) {
	obj := mustBuild(t, testRecords(10, 1, 4))
	ix := openTail(t, obj, len(obj))
	off2, n2 := ix.Range(2, 4)
	off3, n3 := ix.Range(3, 5)
	for _, tc := range []struct {
		name string
		buf  []byte
		i, j int
	}{
		{"records 3..4 as 2..3", obj[off3 : off3+n3], 2, 4},
		{"short by a byte", obj[off2 : off2+n2-1], 2, 4},
		{"a byte too many", obj[off2 : off2+n2+1], 2, 4},
		{"index bytes as records", obj[ix.end:], 0, ix.Len()},
	} {
		if _, err := ix.Records(tc.buf, tc.i, tc.j); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", tc.name, err)
		}
	}
}

// TestTruncated cuts the object at every length: no prefix decodes, and
// no suffix shorter than the tail yields an index.
func TestTruncated(t *testing.T) {
	obj := mustBuild(t, testRecords(5, 1, 5))
	for n := range len(obj) {
		if _, _, err := Decode(obj[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode of the first %d of %d bytes: err = %v", n, len(obj), err)
		}
		if _, _, err := Decode(obj[len(obj)-n:]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode of the last %d of %d bytes: err = %v", n, len(obj), err)
		}
	}
	tr, err := ReadTrailer(obj)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadIndex(obj[len(obj)-int(tr.TailSize())+1:], tr); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadIndex of a short tail: err = %v", err)
	}
	ix := openTail(t, obj, len(obj))
	off, n := ix.Range(0, ix.Len())
	for cut := int64(1); cut < n; cut++ {
		if recs, err := DecodeRecords(obj[off : off+cut]); !errors.Is(err, ErrCorrupt) {
			if err != nil || !atBoundary(ix, off+cut) {
				t.Fatalf("DecodeRecords of %d bytes: %d records, err = %v", cut, len(recs), err)
			}
		}
	}
}

func atBoundary(ix *Index, off int64) bool {
	for i := range ix.Len() + 1 {
		if ix.offset(i) == off {
			return true
		}
	}
	return false
}

// TestCorruptByte flips each bit of the object: every flip is caught by a
// CRC or a check, by Decode and by the ranged-read path alike.
func TestCorruptByte(t *testing.T) {
	obj := mustBuild(t, testRecords(4, 1, 6))
	for i := range obj {
		for bit := range 8 {
			bad := bytes.Clone(obj)
			bad[i] ^= 1 << bit
			if _, _, err := Decode(bad); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("bit %d of byte %d flipped: Decode err = %v", bit, i, err)
			}
			if i >= HeaderSize && rangedReadErr(bad) == nil {
				t.Fatalf("bit %d of byte %d flipped: the ranged-read path saw no corruption", bit, i)
			}
		}
	}
}

// rangedReadErr opens obj from its tail and decodes every record.
func rangedReadErr(obj []byte) error {
	tr, err := ReadTrailer(obj)
	if err != nil {
		return err
	}
	if tr.ObjectSize() != int64(len(obj)) {
		return ErrCorrupt
	}
	ix, err := ReadIndex(obj, tr)
	if err != nil {
		return err
	}
	off, n := ix.Range(0, ix.Len())
	_, err = ix.Records(obj[off:off+n], 0, ix.Len())
	return err
}

// TestHostileLengths: length fields that claim more than there is must not
// make the decoder allocate or read past the buffer.
func TestHostileLengths(t *testing.T) {
	obj := mustBuild(t, testRecords(3, 1, 7))
	ix := openTail(t, obj, len(obj))
	off, n := ix.Range(0, ix.Len())
	recs := bytes.Clone(obj[off : off+n])
	binary.LittleEndian.PutUint32(recs, math.MaxUint32)
	if _, err := DecodeRecords(recs); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("record length 2^32-1: err = %v", err)
	}
	// A trailer claiming 2^32-1 records at a huge offset.
	tail := bytes.Clone(obj[len(obj)-TrailerSize:])
	binary.LittleEndian.PutUint64(tail, 1<<61)
	binary.LittleEndian.PutUint32(tail[8:], math.MaxUint32)
	binary.LittleEndian.PutUint64(tail[20:], math.MaxUint64)
	binary.LittleEndian.PutUint32(tail[trailerCRCOff:], checksum(tail[:trailerCRCOff]))
	tr, err := ReadTrailer(tail)
	if err != nil {
		t.Fatal(err) // a plausible trailer: the object size check is the reader's defence
	}
	if tr.ObjectSize() == int64(len(obj)) {
		t.Fatal("hostile trailer matches the object size")
	}
	if _, err := ReadIndex(tail, tr); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadIndex err = %v", err)
	}
}

// TestGolden pins the byte format: a change to it must be deliberate (a
// new Version), since segments written by older nodes stay in the store.
func TestGolden(t *testing.T) {
	recs := []Record{
		{ID: 7, Msg: &storage.Message{Exchange: "amq.direct", RoutingKey: "k", Properties: []byte{0x10, 0x00, 0x02}, Body: []byte("hello"), Persistent: true, TTL: -1}},
		{ID: 9, Msg: &storage.Message{RoutingKey: "q", Body: []byte("x"), Priority: 3, TTL: 60000}, Expiry: 1_760_000_000_000, Redelivered: true},
	}
	got := hex.Dump(mustBuild(t, recs))
	path := filepath.Join("testdata", "v1.golden")
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("segment bytes changed (go test -run TestGolden -rewrite if deliberate):\n got:\n%s\nwant:\n%s", got, want)
	}
}

// FuzzDecodeSegment feeds arbitrary bytes to every decoding entry point.
// None may panic; whatever Decode accepts must survive a rebuild unchanged.
func FuzzDecodeSegment(f *testing.F) {
	f.Add(mustBuild(f, testRecords(3, 1, 8)))
	f.Add(mustBuild(f, []Record{{ID: 1, Msg: &storage.Message{TTL: -1}}}))
	f.Add([]byte(headerMagic))
	f.Fuzz(func(t *testing.T, obj []byte) {
		DecodeRecords(obj)
		if tr, err := ReadTrailer(obj); err == nil {
			if ix, err := ReadIndex(obj, tr); err == nil && tr.IndexOffset <= int64(len(obj)) {
				off, n := ix.Range(0, ix.Len())
				if off+n <= int64(len(obj)) {
					ix.Records(obj[off:off+n], 0, ix.Len())
				}
			}
		}
		recs, _, err := Decode(obj)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode error without ErrCorrupt: %v", err)
			}
			return
		}
		again, _, err := Decode(mustBuild(t, recs))
		if err != nil {
			t.Fatalf("rebuild of decoded records does not decode: %v", err)
		}
		equalRecords(t, again, recs)
	})
}
