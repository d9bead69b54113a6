// Package segment is the object format of a cold segment: a contiguous run
// of one queue's messages (one priority lane), in ID order, packed into one
// immutable object that the storage node uploads to an object store and
// reads back with ranged reads.
//
// # Layout
//
// All fixed-size integers are little-endian; CRCs are CRC32C (Castagnoli).
//
//	header   magic "WSEG" version:1 zero:3                        (HeaderSize)
//	records  for each message, in strictly increasing ID order:
//	           length:4 crc:4 payload                             (crc over payload)
//	           payload: id:8 flags:1 priority:1 expiry:varint ttl:varint
//	                    exchange:uvarint-len+bytes routing-key:uvarint-len+bytes
//	                    properties:uvarint-len+bytes body:rest
//	index    for each record: id:8 offset:8                       (IndexEntrySize)
//	           offset is where the record's length field starts
//	trailer  index-offset:8 count:4 first-id:8 last-id:8 index-crc:4
//	         version:1 zero:3 trailer-crc:4 magic "WSGT"          (TrailerSize)
//
// flags bit 0 is persistent (delivery-mode 2), bit 1 redelivered; other
// bits are zero. expiry is the unix-ms instant the message expires at, 0
// for never; ttl is the per-message TTL in ms as published, -1 for none.
//
// # Reading from an object store
//
// Knowing the object's size, a reader fetches the tail (a guess of a few
// KiB, or exactly TrailerSize), calls ReadTrailer, fetches more if
// Trailer.TailSize says the index is longer, and calls ReadIndex. The index
// maps IDs to byte ranges: Index.Range gives the one ranged read that
// covers records [i, j), and Index.Records decodes it. Every decoding error
// wraps ErrCorrupt; no input makes the decoder panic or allocate more than
// a small multiple of its input.
package segment

import (
	"errors"
	"hash/crc32"
)

// Format constants.
const (
	Version        = 1
	HeaderSize     = 8
	TrailerSize    = 44
	IndexEntrySize = 16
	// recordHeaderSize is the length and CRC before each payload.
	recordHeaderSize = 8
	// minPayload is the smallest payload: id, flags, priority, and one byte
	// for each of the two varints and the three lengths.
	minPayload = 8 + 1 + 1 + 2 + 3
	// MaxRecordPayload bounds one record's payload (the length field is 32
	// bits); a message is far smaller (16 MiB by default).
	MaxRecordPayload = 1<<32 - 1

	headerMagic  = "WSEG"
	trailerMagic = "WSGT"

	flagPersistent  = 1 << 0
	flagRedelivered = 1 << 1
	knownFlags      = flagPersistent | flagRedelivered
)

// ErrCorrupt is wrapped by every error about bytes that are not a valid
// segment, or not the part of one that the caller said they were.
var ErrCorrupt = errors.New("corrupt segment")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
