package amqp

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzReadTable checks that ReadTable never panics and that whatever it
// accepts survives encode → decode unchanged, with a stable encoding.
func FuzzReadTable(f *testing.F) {
	f.Add([]byte(everyTypeBytes))
	f.Add(nestedBytes('F', 3))
	f.Add(nestedBytes('A', 3))
	for _, in := range hostileTables {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		t1, n, err := ReadTable(in)
		if err != nil {
			return
		}
		if n < 4 || n > len(in) {
			t.Fatalf("n = %d for %d bytes of input", n, len(in))
		}
		enc1, err := AppendTable(nil, t1)
		if err != nil {
			t.Fatalf("re-encode decoded table: %v", err)
		}
		t2, n2, err := ReadTable(enc1)
		if err != nil || n2 != len(enc1) {
			t.Fatalf("decode re-encoded table: n %d of %d, %v", n2, len(enc1), err)
		}
		if !sameValue(t1, t2) {
			t.Fatalf("round trip changed the table:\n%#v\n%#v", t1, t2)
		}
		if enc2, _ := AppendTable(nil, t2); !bytes.Equal(enc1, enc2) {
			t.Fatal("encoding is not stable")
		}
	})
}

// FuzzDecodeProperties checks that DecodeProperties never panics and that
// whatever it accepts survives encode → decode unchanged.
func FuzzDecodeProperties(f *testing.F) {
	f.Add([]byte(contentHeader[12:]))
	full := fullProperties()
	raw, _ := full.Append(nil)
	f.Add(raw)
	f.Add([]byte{0, 0})
	f.Add([]byte{0x00, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) {
		p1, err := DecodeProperties(in)
		if err != nil {
			return
		}
		enc, err := p1.Append(nil)
		if err != nil {
			t.Fatalf("re-encode decoded properties: %v", err)
		}
		p2, err := DecodeProperties(enc)
		if err != nil {
			t.Fatalf("decode re-encoded properties: %v", err)
		}
		if !sameValue(p1.Headers, p2.Headers) {
			t.Fatalf("headers changed: %#v → %#v", p1.Headers, p2.Headers)
		}
		p1.Headers, p2.Headers = nil, nil
		if !reflect.DeepEqual(p1, p2) {
			t.Fatalf("round trip changed the properties:\n%#v\n%#v", p1, p2)
		}
	})
}
