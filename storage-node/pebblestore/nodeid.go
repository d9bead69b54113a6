package pebblestore

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// NodeID is the node's object-store id: it names the node's objects in a
// bucket that other nodes may share. It is drawn at the first Open and
// never changes, so a wiped data dir starts a fresh namespace.
func (d *DB) NodeID() uint64 { return d.nid }

// loadNodeID reads the id, or draws and writes it (synced) when missing.
func (d *DB) loadNodeID() error {
	v, closer, err := d.db.Get([]byte(keyNodeID))
	if errors.Is(err, pebble.ErrNotFound) {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
		d.nid = binary.BigEndian.Uint64(b[:])
		return d.db.Set([]byte(keyNodeID), b[:], pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("read node id: %w", err)
	}
	defer closer.Close()
	d.nid, err = decodeNodeID(v)
	return err
}

func decodeNodeID(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("node id of %d bytes: %w", len(v), ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}
