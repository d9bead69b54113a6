package amqp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// contentHeader is a basic content-header payload written by hand: body of
// 11 bytes; content-type, headers, delivery-mode, message-id and timestamp.
const contentHeader = "\x00\x3c" + // class basic
	"\x00\x00" + // weight
	"\x00\x00\x00\x00\x00\x00\x00\x0b" + // body size 11
	"\xb0\xc0" + // flags: content-type|headers|delivery-mode|message-id|timestamp
	"\x0atext/plain" +
	"\x00\x00\x00\x0d" + "\x07x-retry" + "I\x00\x00\x00\x03" +
	"\x02" + // delivery-mode persistent
	"\x03m-1" +
	"\x00\x00\x00\x00\x65\x53\xf1\x00" // timestamp 1700000000

var contentHeaderProps = Properties{
	Flags:        FlagContentType | FlagHeaders | FlagDeliveryMode | FlagMessageID | FlagTimestamp,
	ContentType:  "text/plain",
	Headers:      Table{"x-retry": int32(3)},
	DeliveryMode: 2,
	MessageID:    "m-1",
	Timestamp:    1700000000,
}

func TestDecodePropertiesHandwritten(t *testing.T) {
	classID, size, raw, err := ParseHeader([]byte(contentHeader))
	if err != nil {
		t.Fatal(err)
	}
	if classID != 60 || size != 11 {
		t.Errorf("class %d size %d, want 60 11", classID, size)
	}
	p, err := DecodeProperties(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.Flags != 0xb0c0 {
		t.Errorf("flags %#04x, want 0xb0c0", p.Flags)
	}
	if !reflect.DeepEqual(p, contentHeaderProps) {
		t.Errorf("got  %#v\nwant %#v", p, contentHeaderProps)
	}
}

func TestPropertiesAppendHandwritten(t *testing.T) {
	raw, err := contentHeaderProps.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendHeader(nil, 60, 11, raw); string(got) != contentHeader {
		t.Errorf("got  %q\nwant %q", got, contentHeader)
	}
}

func TestPropertiesFlagOrder(t *testing.T) {
	// Each flag alone, with a one-byte value where it is a string, shows the
	// bit it owns and that only that field is written.
	for _, tc := range []struct {
		flag uint16
		p    Properties
		want string
	}{
		{0x8000, Properties{ContentType: "a"}, "\x80\x00\x01a"},
		{0x4000, Properties{ContentEncoding: "a"}, "\x40\x00\x01a"},
		{0x2000, Properties{Headers: Table{}}, "\x20\x00\x00\x00\x00\x00"},
		{0x1000, Properties{DeliveryMode: 1}, "\x10\x00\x01"},
		{0x0800, Properties{Priority: 9}, "\x08\x00\x09"},
		{0x0400, Properties{CorrelationID: "a"}, "\x04\x00\x01a"},
		{0x0200, Properties{ReplyTo: "a"}, "\x02\x00\x01a"},
		{0x0100, Properties{Expiration: "a"}, "\x01\x00\x01a"},
		{0x0080, Properties{MessageID: "a"}, "\x00\x80\x01a"},
		{0x0040, Properties{Timestamp: 1}, "\x00\x40\x00\x00\x00\x00\x00\x00\x00\x01"},
		{0x0020, Properties{Type: "a"}, "\x00\x20\x01a"},
		{0x0010, Properties{UserID: "a"}, "\x00\x10\x01a"},
		{0x0008, Properties{AppID: "a"}, "\x00\x08\x01a"},
		{0x0004, Properties{ClusterID: "a"}, "\x00\x04\x01a"},
	} {
		p := tc.p
		p.Flags = tc.flag
		got, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("flag %#04x: got %q, want %q", tc.flag, got, tc.want)
		}
		full := fullProperties()
		full.Flags = tc.flag
		raw, _ := full.Append(nil)
		dec, err := DecodeProperties(raw)
		if err != nil {
			t.Fatal(err)
		}
		if n := nonZeroFields(dec); n != 1 {
			t.Errorf("flag %#04x: decoded %d properties from a fully set struct, want 1", tc.flag, n)
		}
	}
}

// nonZeroFields counts the properties (not Flags) of p that are set.
func nonZeroFields(p Properties) int {
	v := reflect.ValueOf(p)
	n := 0
	for i := 1; i < v.NumField(); i++ {
		if !v.Field(i).IsZero() {
			n++
		}
	}
	return n
}

// fullProperties sets every property to a distinct value, all flags on.
func fullProperties() Properties {
	return Properties{
		Flags:           0xfffc,
		ContentType:     "application/json",
		ContentEncoding: "gzip",
		Headers:         Table{"h": "v"},
		DeliveryMode:    2,
		Priority:        9,
		CorrelationID:   "corr",
		ReplyTo:         "amq.rabbitmq.reply-to",
		Expiration:      "60000",
		MessageID:       "msg",
		Timestamp:       1700000000,
		Type:            "event",
		UserID:          "guest",
		AppID:           "app",
		ClusterID:       "cluster",
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	for _, flags := range []uint16{0, 0xfffc, 0xb0c0, 0x0002, 0x5554, 0xaaa8} {
		in := fullProperties()
		in.Flags = flags
		raw, err := in.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := DecodeProperties(raw)
		if err != nil {
			t.Fatalf("flags %#04x: %v", flags, err)
		}
		if want := keepFlagged(in); !reflect.DeepEqual(out, want) {
			t.Errorf("flags %#04x:\ngot  %#v\nwant %#v", flags, out, want)
		}
	}
}

// keepFlagged zeroes the fields of p whose flag is clear, which is what a
// decoder returns for them.
func keepFlagged(p Properties) Properties {
	raw, _ := p.Append(nil)
	var q Properties
	q.Flags = p.Flags
	d := decoder{b: raw[2:]}
	q.decodeFields(&d)
	return q
}

func TestDecodePropertiesErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":              "",
		"one byte of flags":  "\x80",
		"continuation bit":   "\x00\x01",
		"all bits":           "\xff\xff",
		"truncated string":   "\x80\x00\x05ab",
		"missing priority":   "\x08\x00",
		"truncated table":    "\x20\x00\x00\x00\x00\x09\x01k",
		"table claims 2 GiB": "\x20\x00\x7f\xff\xff\xff",
		"trailing bytes":     "\x08\x00\x01\x02",
		"bad header value":   "\x20\x00\x00\x00\x00\x03\x01kZ",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeProperties([]byte(in)); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestPropertiesAppendErrors(t *testing.T) {
	for name, p := range map[string]Properties{
		"continuation bit":   {Flags: 0x0001},
		"long content type":  {Flags: FlagContentType, ContentType: strings.Repeat("a", 256)},
		"long cluster id":    {Flags: FlagClusterID, ClusterID: strings.Repeat("a", 256)},
		"unencodable header": {Flags: FlagHeaders, Headers: Table{"k": struct{}{}}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := p.Append([]byte("keep"))
			if err == nil {
				t.Fatal("no error")
			}
			if string(got) != "keep" {
				t.Errorf("b changed to %q on error", got)
			}
		})
	}
	// A field whose flag is clear is not encoded, so it cannot fail.
	p := Properties{ContentType: strings.Repeat("a", 256)}
	if _, err := p.Append(nil); err != nil {
		t.Errorf("unflagged over-long field: %v", err)
	}
}
