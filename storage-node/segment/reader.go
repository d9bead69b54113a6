package segment

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/warrenmq/warren/api/storage"
)

// Trailer is the fixed-size end of a segment: where its index is and what
// it holds.
type Trailer struct {
	IndexOffset int64 // where the index starts, = where the records end
	Count       int   // records, at least 1
	FirstID     storage.MsgID
	LastID      storage.MsgID
	indexCRC    uint32
}

// IndexSize is the index's length in bytes.
func (t Trailer) IndexSize() int64 { return int64(t.Count) * IndexEntrySize }

// TailSize is how many bytes at the end of the object hold the index and
// the trailer: what ReadIndex needs.
func (t Trailer) TailSize() int64 { return t.IndexSize() + TrailerSize }

// ObjectSize is the size of the object the trailer describes; a reader
// that knows the stored size compares the two before trusting the trailer.
func (t Trailer) ObjectSize() int64 { return t.IndexOffset + t.TailSize() }

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrCorrupt)
}

// ReadTrailer decodes the trailer from tail, the last len(tail) bytes of a
// segment object (at least TrailerSize).
func ReadTrailer(tail []byte) (Trailer, error) {
	if len(tail) < TrailerSize {
		return Trailer{}, corrupt("tail of %d bytes, shorter than the %d-byte trailer", len(tail), TrailerSize)
	}
	b := tail[len(tail)-TrailerSize:]
	if string(b[40:]) != trailerMagic {
		return Trailer{}, corrupt("trailer magic %q", b[40:])
	}
	if got, want := binary.LittleEndian.Uint32(b[trailerCRCOff:]), checksum(b[:trailerCRCOff]); got != want {
		return Trailer{}, corrupt("trailer CRC %08x, computed %08x", got, want)
	}
	if b[32] != Version || b[33]|b[34]|b[35] != 0 {
		return Trailer{}, corrupt("trailer version %d", b[32])
	}
	t := Trailer{
		Count:    int(binary.LittleEndian.Uint32(b[8:])),
		FirstID:  storage.MsgID(binary.LittleEndian.Uint64(b[12:])),
		LastID:   storage.MsgID(binary.LittleEndian.Uint64(b[20:])),
		indexCRC: binary.LittleEndian.Uint32(b[28:]),
	}
	off := binary.LittleEndian.Uint64(b)
	// Each record takes at least recordHeaderSize+minPayload bytes after
	// the header; this also keeps IndexOffset far from overflowing.
	if t.Count == 0 || t.FirstID > t.LastID || off > 1<<62 ||
		off < HeaderSize+uint64(t.Count)*(recordHeaderSize+minPayload) ||
		uint64(t.LastID-t.FirstID) < uint64(t.Count-1) {
		return Trailer{}, corrupt("trailer: %d records, IDs %d..%d, index at %d", t.Count, t.FirstID, t.LastID, off)
	}
	t.IndexOffset = int64(off)
	return t, nil
}

// Index locates each record of a segment by ID. It is immutable and safe
// for concurrent use.
type Index struct {
	entries []byte // Count entries of IndexEntrySize bytes, validated
	end     int64  // IndexOffset: where the last record ends
}

// ReadIndex decodes and verifies the index from tail, the last len(tail)
// bytes of the segment object, which must be at least t.TailSize(). The
// index keeps its own copy of the bytes it needs.
func ReadIndex(tail []byte, t Trailer) (*Index, error) {
	if int64(len(tail)) < t.TailSize() {
		return nil, corrupt("tail of %d bytes, index and trailer need %d", len(tail), t.TailSize())
	}
	raw := tail[int64(len(tail))-t.TailSize() : len(tail)-TrailerSize]
	if got := checksum(raw); got != t.indexCRC {
		return nil, corrupt("index CRC %08x, trailer says %08x", got, t.indexCRC)
	}
	ix := &Index{entries: append([]byte(nil), raw...), end: t.IndexOffset}
	if err := ix.check(t); err != nil {
		return nil, err
	}
	return ix, nil
}

// check verifies what Range and Search rely on: IDs strictly increasing
// from FirstID to LastID, the first record right after the header, and
// every record at least the smallest possible record long.
func (ix *Index) check(t Trailer) error {
	prevID, prevOff := storage.MsgID(0), int64(0)
	for i := range ix.Len() {
		id, off := ix.ID(i), ix.offset(i)
		switch {
		case i == 0 && (id != t.FirstID || off != HeaderSize):
			return corrupt("index entry 0: ID %d at %d, want ID %d at %d", id, off, t.FirstID, HeaderSize)
		case i > 0 && (id <= prevID || off < prevOff+recordHeaderSize+minPayload):
			return corrupt("index entry %d: ID %d at %d after ID %d at %d", i, id, off, prevID, prevOff)
		}
		prevID, prevOff = id, off
	}
	if prevID != t.LastID || prevOff > ix.end-recordHeaderSize-minPayload {
		return corrupt("index ends with ID %d at %d; trailer says ID %d, records end at %d", prevID, prevOff, t.LastID, ix.end)
	}
	return nil
}

// Len is the number of records.
func (ix *Index) Len() int { return len(ix.entries) / IndexEntrySize }

// ID is the i-th record's message ID.
func (ix *Index) ID(i int) storage.MsgID {
	return storage.MsgID(binary.LittleEndian.Uint64(ix.entries[i*IndexEntrySize:]))
}

func (ix *Index) offset(i int) int64 {
	if i == ix.Len() {
		return ix.end
	}
	return int64(binary.LittleEndian.Uint64(ix.entries[i*IndexEntrySize+8:]))
}

// Search returns the position of the first record whose ID is at least id
// (Len when there is none).
func (ix *Index) Search(id storage.MsgID) int {
	return sort.Search(ix.Len(), func(i int) bool { return ix.ID(i) >= id })
}

// Range returns the byte range [off, off+n) of the object that holds
// records i..j-1, for one ranged read. It panics unless 0 <= i <= j <= Len:
// positions come from Search and Len, never from the object's bytes.
func (ix *Index) Range(i, j int) (off, n int64) {
	if i < 0 || i > j || j > ix.Len() {
		panic(fmt.Sprintf("segment: Range(%d, %d) of %d records", i, j, ix.Len()))
	}
	return ix.offset(i), ix.offset(j) - ix.offset(i)
}

// Records decodes buf, the bytes read at Range(i, j), and checks that it
// holds exactly records i..j-1 with the IDs the index gives them.
func (ix *Index) Records(buf []byte, i, j int) ([]Record, error) {
	if _, n := ix.Range(i, j); int64(len(buf)) != n {
		return nil, corrupt("records %d..%d: %d bytes, the index says %d", i, j, len(buf), n)
	}
	recs, err := DecodeRecords(buf)
	if err != nil {
		return nil, err
	}
	if len(recs) != j-i {
		return nil, corrupt("records %d..%d: decoded %d", i, j, len(recs))
	}
	off := ix.offset(i)
	for k := range recs {
		if recs[k].ID != ix.ID(i+k) || off != ix.offset(i+k) {
			return nil, corrupt("record %d: ID %d at %d, the index says ID %d at %d", i+k, recs[k].ID, off, ix.ID(i+k), ix.offset(i+k))
		}
		// DecodeRecords checked that the length fields tile buf.
		off += recordHeaderSize + int64(binary.LittleEndian.Uint32(buf[off-ix.offset(i):]))
	}
	return recs, nil
}
