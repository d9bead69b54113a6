package amqp

import (
	"errors"
	"testing"
)

func TestParseHeaderTooShort(t *testing.T) {
	for n := range 14 {
		if _, _, _, err := ParseHeader([]byte(contentHeader[:n])); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d bytes: err = %v, want ErrMalformed", n, err)
		}
	}
}

func TestParseHeaderIgnoresWeight(t *testing.T) {
	in := []byte(contentHeader)
	in[2], in[3] = 0xff, 0xff
	if _, _, _, err := ParseHeader(in); err != nil {
		t.Error(err)
	}
}

func TestParseHeaderAliasesProps(t *testing.T) {
	in := []byte(contentHeader)
	_, _, raw, _ := ParseHeader(in)
	if &raw[0] != &in[12] || len(raw) != len(in)-12 {
		t.Error("rawProps is not payload[12:]")
	}
}

func TestAppendHeader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props []byte
		want  string
	}{
		{"no props writes zero flags", nil, "\x00\x3c\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"},
		{"props copied", []byte{0x10, 0, 2}, "\x00\x3c\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x10\x00\x02"},
	} {
		got := AppendHeader(nil, 60, 1<<32, tc.props)
		if string(got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
