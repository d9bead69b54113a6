package segment

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/warrenmq/warren/api/storage"
)

// Record is one message as a segment keeps it.
type Record struct {
	ID          storage.MsgID
	Msg         *storage.Message
	Expiry      int64 // unix ms at and after which it is expired; 0 = never
	Redelivered bool
}

// Writer builds one segment in memory. Add records in increasing ID order,
// then Finish. Not safe for concurrent use.
type Writer struct {
	buf   []byte // header and records so far
	index []byte // index entries so far
	first storage.MsgID
	last  storage.MsgID
	count int
}

// NewWriter starts a segment, appending to buf[:0] so that a caller can
// reuse the buffer of a segment already uploaded.
func NewWriter(buf []byte) *Writer {
	w := &Writer{buf: buf[:0]}
	w.buf = append(w.buf, headerMagic...)
	w.buf = append(w.buf, Version, 0, 0, 0)
	return w
}

// Len is the number of records added.
func (w *Writer) Len() int { return w.count }

// Size is the size Finish's object would have now, so that the caller can
// cut segments at a size.
func (w *Writer) Size() int { return len(w.buf) + len(w.index) + TrailerSize }

// Add appends a record. Its ID must be above every ID added before and its
// Msg non-nil; otherwise Add returns an error and the segment is unchanged.
func (w *Writer) Add(r *Record) error {
	if r.Msg == nil {
		return fmt.Errorf("segment record %d: nil message", r.ID)
	}
	if w.count > 0 && r.ID <= w.last {
		return fmt.Errorf("segment record %d after %d: IDs must increase", r.ID, w.last)
	}
	size := payloadSize(r)
	if int64(size) > MaxRecordPayload {
		return fmt.Errorf("segment record %d: payload of %d bytes over %d", r.ID, size, MaxRecordPayload)
	}
	off := len(w.buf)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(size))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0) // CRC, below
	w.buf = appendPayload(w.buf, r)
	binary.LittleEndian.PutUint32(w.buf[off+4:], checksum(w.buf[off+recordHeaderSize:]))
	w.index = binary.LittleEndian.AppendUint64(w.index, uint64(r.ID))
	w.index = binary.LittleEndian.AppendUint64(w.index, uint64(off))
	if w.count == 0 {
		w.first = r.ID
	}
	w.last = r.ID
	w.count++
	return nil
}

// ErrEmpty is Finish's error for a segment without records.
var ErrEmpty = errors.New("segment has no records")

// Finish appends the index and the trailer and returns the object. The
// Writer must not be used afterwards.
func (w *Writer) Finish() ([]byte, error) {
	if w.count == 0 {
		return nil, ErrEmpty
	}
	indexOff := len(w.buf)
	b := append(w.buf, w.index...)
	b = binary.LittleEndian.AppendUint64(b, uint64(indexOff))
	b = binary.LittleEndian.AppendUint32(b, uint32(w.count))
	b = binary.LittleEndian.AppendUint64(b, uint64(w.first))
	b = binary.LittleEndian.AppendUint64(b, uint64(w.last))
	b = binary.LittleEndian.AppendUint32(b, checksum(w.index))
	b = append(b, Version, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, checksum(b[len(b)-trailerCRCOff:]))
	b = append(b, trailerMagic...)
	w.buf, w.index = nil, nil
	return b, nil
}

// trailerCRCOff is the offset of the trailer's own CRC, which covers the
// bytes before it.
const trailerCRCOff = 36

// Build makes a segment object of records, which must be in increasing
// ID order and not empty.
func Build(records []Record) ([]byte, error) {
	w := NewWriter(nil)
	for i := range records {
		if err := w.Add(&records[i]); err != nil {
			return nil, err
		}
	}
	return w.Finish()
}

func payloadSize(r *Record) int {
	m := r.Msg
	return 8 + 2 + varintLen(r.Expiry) + varintLen(m.TTL) +
		uvarintLen(uint64(len(m.Exchange))) + len(m.Exchange) +
		uvarintLen(uint64(len(m.RoutingKey))) + len(m.RoutingKey) +
		uvarintLen(uint64(len(m.Properties))) + len(m.Properties) + len(m.Body)
}

func appendPayload(b []byte, r *Record) []byte {
	m := r.Msg
	var flags byte
	if m.Persistent {
		flags |= flagPersistent
	}
	if r.Redelivered {
		flags |= flagRedelivered
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(r.ID))
	b = append(b, flags, m.Priority)
	b = binary.AppendVarint(b, r.Expiry)
	b = binary.AppendVarint(b, m.TTL)
	b = appendBytes(b, m.Exchange)
	b = appendBytes(b, m.RoutingKey)
	b = appendBytes(b, m.Properties)
	return append(b, m.Body...)
}

func appendBytes[S string | []byte](b []byte, s S) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}
