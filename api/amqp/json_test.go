package amqp

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Arguments from RabbitMQ's HTTP API: whole numbers must become longs, or
// x-message-ttl and friends fail validation as doubles.
func TestTableFromJSON(t *testing.T) {
	var m map[string]any
	in := `{"x-message-ttl":60000,"ratio":0.5,"dlx":"d","flag":true,"none":null,"list":[1,"a"],"nested":{"k":2},"empty":{}}`
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	got, err := TableFromJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	want := Table{"x-message-ttl": int64(60000), "ratio": 0.5, "dlx": "d", "flag": true, "none": nil,
		"list": []any{int64(1), "a"}, "nested": Table{"k": int64(2)}, "empty": Table(nil)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	if _, err := AppendTable(nil, got); err != nil {
		t.Fatalf("the table does not encode: %v", err)
	}
}

func TestTableToJSON(t *testing.T) {
	in := Table{"a": int16(5), "b": uint32(7), "c": []byte("hi"), "d": Decimal{Scale: 2, Value: 150},
		"e": Table{"f": int8(-1)}, "g": []any{int32(3)}, "h": float32(0.5)}
	b, err := json.Marshal(TableToJSON(in))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"a":5,"b":7,"c":"aGk=","d":1.5,"e":{"f":-1},"g":[3],"h":0.5}`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	if got := TableToJSON(nil); got == nil || len(got) != 0 {
		t.Fatalf("nil table: %#v, want an empty object", got)
	}
}
