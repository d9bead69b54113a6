package amqp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// everyTypeBytes is a table holding one value of each RabbitMQ field type,
// written by hand. Keys are the type tags, in sorted order as AppendTable
// writes them.
const everyTypeBytes = "\x00\x00\x00\x8b" + // table length 139
	"\x01A" + "A\x00\x00\x00\x0c" + "I\x00\x00\x00\x01" + "S\x00\x00\x00\x02hi" +
	"\x01B" + "B\xff" +
	"\x01D" + "D\x02\xff\xff\xff\x85" + // scale 2, value -123
	"\x01F" + "F\x00\x00\x00\x04" + "\x01kt\x01" +
	"\x01I" + "I\xff\xff\xff\xfe" +
	"\x01S" + "S\x00\x00\x00\x05hello" +
	"\x01T" + "T\x00\x00\x00\x00\x65\x53\xf1\x00" + // 1700000000
	"\x01V" + "V" +
	"\x01b" + "b\x80" +
	"\x01d" + "d\x3f\xf8\x00\x00\x00\x00\x00\x00" + // 1.5
	"\x01f" + "f\x40\x20\x00\x00" + // 2.5
	"\x01i" + "i\xff\xff\xff\xff" +
	"\x01l" + "l\x80\x00\x00\x00\x00\x00\x00\x00" +
	"\x01s" + "s\xff\xff" + // RabbitMQ: int16, not the spec's short string
	"\x01t" + "t\x01" +
	"\x01u" + "u\xff\xff" +
	"\x01x" + "x\x00\x00\x00\x03\x01\x02\x03"

var everyTypeTable = Table{
	"A": []any{int32(1), "hi"},
	"B": uint8(255),
	"D": Decimal{Scale: 2, Value: -123},
	"F": Table{"k": true},
	"I": int32(-2),
	"S": "hello",
	"T": time.Unix(1700000000, 0).UTC(),
	"V": nil,
	"b": int8(-128),
	"d": float64(1.5),
	"f": float32(2.5),
	"i": uint32(math.MaxUint32),
	"l": int64(math.MinInt64),
	"s": int16(-1),
	"t": true,
	"u": uint16(math.MaxUint16),
	"x": []byte{1, 2, 3},
}

func TestReadTableEveryType(t *testing.T) {
	in := everyTypeBytes + "trailing"
	got, n, err := ReadTable([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(everyTypeBytes) {
		t.Errorf("n = %d, want %d", n, len(everyTypeBytes))
	}
	if !reflect.DeepEqual(got, everyTypeTable) {
		t.Errorf("got  %#v\nwant %#v", got, everyTypeTable)
	}
}

func TestAppendTableEveryType(t *testing.T) {
	got, err := AppendTable([]byte("prefix"), everyTypeTable)
	if err != nil {
		t.Fatal(err)
	}
	if want := "prefix" + everyTypeBytes; string(got) != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestAppendTableGoTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string // tag and value
	}{
		{"int is l", int(-2), "l\xff\xff\xff\xff\xff\xff\xff\xfe"},
		{"false", false, "t\x00"},
		{"map is F", map[string]any{"a": nil}, "F\x00\x00\x00\x03\x01aV"},
		{"empty table", Table{}, "F\x00\x00\x00\x00"},
		{"nil table", Table(nil), "F\x00\x00\x00\x00"},
		{"empty array", []any{}, "A\x00\x00\x00\x00"},
		{"time truncated to seconds", time.Unix(5, 999), "T\x00\x00\x00\x00\x00\x00\x00\x05"},
		{"nested array", []any{[]any{uint8(7)}}, "A\x00\x00\x00\x07A\x00\x00\x00\x02B\x07"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendTable(nil, Table{"k": tc.in})
			if err != nil {
				t.Fatal(err)
			}
			entry := "\x01k" + tc.want
			want := string(binary.BigEndian.AppendUint32(nil, uint32(len(entry)))) + entry
			if string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestAppendTableDeterministic(t *testing.T) {
	tbl := Table{}
	for i := range 50 {
		tbl[strings.Repeat("k", i+1)] = int32(i)
	}
	first, err := AppendTable(nil, tbl)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := AppendTable(nil, tbl)
		if !bytes.Equal(first, again) {
			t.Fatal("two encodings of one table differ")
		}
	}
}

func TestAppendTableErrors(t *testing.T) {
	cyclic := Table{}
	cyclic["self"] = cyclic
	for _, tc := range []struct {
		name string
		in   Table
	}{
		{"uint64 has no tag", Table{"k": uint64(1)}},
		{"uint has no tag", Table{"k": uint(1)}},
		{"struct", Table{"k": struct{}{}}},
		{"pointer", Table{"k": new(int32)}},
		{"unsupported inside array", Table{"k": []any{1, complex(1, 1)}}},
		{"key over 255 bytes", Table{strings.Repeat("k", 256): 1}},
		{"cyclic table", cyclic},
		{"too deep", nestTables(MaxDepth + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte("keep")
			got, err := AppendTable(b, tc.in)
			if err == nil {
				t.Fatal("no error")
			}
			if string(got) != "keep" {
				t.Errorf("b changed to %q on error", got)
			}
		})
	}
}

// nestTables returns depth tables, each holding the next under key "n".
func nestTables(depth int) Table {
	t := Table{}
	for range depth - 1 {
		t = Table{"n": t}
	}
	return t
}

func TestTableDepthLimit(t *testing.T) {
	ok, err := AppendTable(nil, nestTables(MaxDepth))
	if err != nil {
		t.Fatalf("encode at MaxDepth: %v", err)
	}
	if _, _, err := ReadTable(ok); err != nil {
		t.Fatalf("decode at MaxDepth: %v", err)
	}
	for name, in := range map[string][]byte{
		"tables": nestedBytes('F', MaxDepth+1),
		"arrays": nestedBytes('A', MaxDepth+1),
		"huge":   nestedBytes('F', 5000),
	} {
		if _, _, err := ReadTable(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// nestedBytes hand-builds depth levels: an outer table whose single entry
// "n" holds a table or array (tag) holding the next level, and so on.
func nestedBytes(tag byte, depth int) []byte {
	inner := []byte{0, 0, 0, 0} // innermost: empty table or array
	for range depth - 1 {
		var entry []byte
		if tag == 'F' {
			entry = append([]byte{1, 'n', 'F'}, inner...)
		} else {
			entry = append([]byte{'A'}, inner...)
		}
		inner = binary.BigEndian.AppendUint32(nil, uint32(len(entry)))
		inner = append(inner, entry...)
	}
	if tag == 'A' { // wrap the arrays in a table so ReadTable can start
		entry := append([]byte{1, 'n', 'A'}, inner...)
		inner = append(binary.BigEndian.AppendUint32(nil, uint32(len(entry))), entry...)
	}
	return inner
}

// hostileTables are inputs that must be rejected as malformed without a
// large allocation or a panic.
var hostileTables = map[string]string{
	"empty":                 "",
	"short length":          "\x00\x00\x00",
	"claims 4 GiB":          "\xff\xff\xff\xff\x01k",
	"entry overruns table":  "\x00\x00\x00\x03\x01kI\x00\x00\x00\x01",
	"key overruns table":    "\x00\x00\x00\x02\x05k",
	"missing tag":           "\x00\x00\x00\x02\x01k",
	"unknown tag Z":         "\x00\x00\x00\x03\x01kZ",
	"spec-only tag U":       "\x00\x00\x00\x05\x01kU\x00\x01",
	"truncated int32":       "\x00\x00\x00\x05\x01kI\x00\x01",
	"long string claims 4G": "\x00\x00\x00\x0a\x01kS\xff\xff\xff\xf0ab",
	"array claims 4G":       "\x00\x00\x00\x07\x01kA\xff\xff\xff\xff",
	"bytes claim 4G":        "\x00\x00\x00\x07\x01kx\xff\xff\xff\xff",
	"nested table claims":   "\x00\x00\x00\x07\x01kF\x7f\xff\xff\xff",
	"bad value in array":    "\x00\x00\x00\x09\x01kA\x00\x00\x00\x02Z\x00",
}

func TestReadTableHostile(t *testing.T) {
	for name, in := range hostileTables {
		t.Run(name, func(t *testing.T) {
			tbl, n, err := ReadTable([]byte(in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if tbl != nil || n != 0 {
				t.Errorf("got table %v, n %d with an error", tbl, n)
			}
			if got := bytesAllocated(func() { _, _, _ = ReadTable([]byte(in)) }); got > 4096 {
				t.Errorf("allocated %d bytes per call, want < 4096", got)
			}
		})
	}
}

// bytesAllocated returns the average heap bytes f allocates per call.
func bytesAllocated(f func()) uint64 {
	const runs = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

func TestReadTableCopiesInput(t *testing.T) {
	in := []byte(everyTypeBytes)
	tbl, _, err := ReadTable(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	if !reflect.DeepEqual(tbl, everyTypeTable) {
		t.Error("decoded table changed when the input buffer was overwritten")
	}
}

func TestReadTableEmptyIsNil(t *testing.T) {
	tbl, n, err := ReadTable([]byte{0, 0, 0, 0})
	if err != nil || n != 4 || tbl != nil {
		t.Errorf("got %v, %d, %v; want nil, 4, nil", tbl, n, err)
	}
}

func TestTableRoundTrip(t *testing.T) {
	in := Table{
		"nested": Table{"deeper": Table{"list": []any{nil, true, "s", []byte{}, Decimal{1, 2}}}},
		"nan":    math.NaN(),
		"neg0":   math.Copysign(0, -1),
		"":       "empty key",
		"x-max":  int64(math.MaxInt64),
		"time":   time.Unix(-1, 0).UTC(),
	}
	b, err := AppendTable(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := ReadTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if !sameValue(in, out) {
		t.Errorf("got %#v, want %#v", out, in)
	}
}

// sameValue is reflect.DeepEqual except that floats compare by bits (so NaN
// equals itself, as a round trip must preserve it).
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float32:
		bv, ok := b.(float32)
		return ok && math.Float32bits(a) == math.Float32bits(bv)
	case float64:
		bv, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(bv)
	case Table:
		bt, ok := b.(Table)
		if !ok || len(a) != len(bt) {
			return false
		}
		for k, v := range a {
			if w, ok := bt[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
