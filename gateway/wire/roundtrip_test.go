package wire

import (
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/amqp"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// allMethods returns a new zero value of every method DecodeMethod knows,
// found by probing the id space rather than by a list the generator wrote.
func allMethods() []decodable {
	var ms []decodable
	for c := range 256 {
		for id := range 256 {
			if m := newMethod(uint16(c), uint16(id)); m != nil {
				ms = append(ms, m)
			}
		}
	}
	return ms
}

// specMethods is the class/method list of the spec XML, read independently
// of the generator.
type specMethods struct {
	Classes []struct {
		Name    string `xml:"name,attr"`
		Index   uint16 `xml:"index,attr"`
		Methods []struct {
			Name    string     `xml:"name,attr"`
			Index   uint16     `xml:"index,attr"`
			Content bool       `xml:"content,attr"`
			Fields  []struct{} `xml:"field"`
		} `xml:"method"`
	} `xml:"class"`
}

func TestEverySpecMethodIsGenerated(t *testing.T) {
	raw, err := os.ReadFile("spec/amqp0-9-1.stripped.extended.xml")
	if err != nil {
		t.Fatal(err)
	}
	var s specMethods
	if err := xml.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range s.Classes {
		for _, sm := range c.Methods {
			n++
			m := newMethod(c.Index, sm.Index)
			if m == nil {
				t.Errorf("%s.%s (%d/%d) not decodable", c.Name, sm.Name, c.Index, sm.Index)
				continue
			}
			name := c.Name + "." + sm.Name
			if m.Name() != name || m.ClassID() != c.Index || m.MethodID() != sm.Index || m.HasContent() != sm.Content {
				t.Errorf("%T: %q %d/%d content=%v, spec %q %d/%d content=%v", m, m.Name(), m.ClassID(), m.MethodID(),
					m.HasContent(), name, c.Index, sm.Index, sm.Content)
			}
			if got := reflect.TypeOf(m).Elem().NumField(); got != len(sm.Fields) {
				t.Errorf("%s: %d struct fields, spec has %d", name, got, len(sm.Fields))
			}
		}
	}
	if got := len(allMethods()); got != n || n < 50 {
		t.Errorf("%d decodable methods, spec has %d", got, n)
	}
}

// fill sets every field of m to a non-zero value derived from its index,
// so fields that swap places or share storage show up in a round trip.
func fill(m any) {
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(i+1) << (f.Type().Bits() - 8)) // high byte set
		case reflect.String:
			f.SetString(fmt.Sprintf("%s-%d", name, i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Map:
			f.Set(reflect.ValueOf(amqp.Table{name: int32(i), "nested": amqp.Table{"n": []any{"x", uint8(i)}}}))
		default:
			panic(fmt.Sprintf("fill: field %s of kind %s", name, f.Kind()))
		}
	}
}

func roundTrip(t *testing.T, m Method) {
	t.Helper()
	b, err := m.Append(nil)
	if err != nil {
		t.Fatalf("%s: Append: %v", m.Name(), err)
	}
	got, err := DecodeMethod(b)
	if err != nil {
		t.Fatalf("%s: DecodeMethod(%x): %v", m.Name(), b, err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("%s round trip:\ngot  %#v\nwant %#v", m.Name(), got, m)
	}
}

func TestEveryMethodRoundTrips(t *testing.T) {
	for _, m := range allMethods() {
		roundTrip(t, m) // zero values
		fill(m)
		roundTrip(t, m)
	}
}

// TestEveryBitRoundTripsAlone sets one bit field at a time, which catches
// two bits sharing a position (all-true values would not).
func TestEveryBitRoundTripsAlone(t *testing.T) {
	for _, m := range allMethods() {
		v := reflect.ValueOf(m).Elem()
		for i := range v.NumField() {
			if v.Field(i).Kind() != reflect.Bool {
				continue
			}
			v.SetZero()
			v.Field(i).SetBool(true)
			roundTrip(t, m)
		}
	}
}

// TestMethodsGolden pins the encoding of every method with fill's values in
// testdata/methods.golden; run with -update after a deliberate change.
func TestMethodsGolden(t *testing.T) {
	var sb strings.Builder
	for _, m := range allMethods() {
		fill(m)
		b, err := m.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s %s\n", m.Name(), hex.EncodeToString(b))
	}
	const path = "testdata/methods.golden"
	if *update {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sb.String() != string(want) {
		t.Errorf("encodings differ from %s (run with -update if intended):\n%s", path, sb.String())
	}
}
