package amqp

import (
	"encoding/base64"
	"fmt"
	"math"
	"time"
)

// Field tables as JSON, the way RabbitMQ's HTTP API and definitions files
// write arguments: a whole number becomes a long (int64), any other
// number a double, an object a table, an array an array.

// TableFromJSON converts a decoded JSON object (encoding/json's or
// structpb's AsMap) to a field table. It fails on a value JSON decoding
// cannot produce. A nil or empty object gives a nil table.
func TableFromJSON(m map[string]any) (Table, error) {
	if len(m) == 0 {
		return nil, nil
	}
	t := make(Table, len(m))
	for k, v := range m {
		fv, err := fieldFromJSON(v)
		if err != nil {
			return nil, fmt.Errorf("argument %q: %w", k, err)
		}
		t[k] = fv
	}
	return t, nil
}

func fieldFromJSON(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, string:
		return v, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), nil
		}
		return v, nil
	case map[string]any:
		return TableFromJSON(m2t(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			fe, err := fieldFromJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = fe
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported JSON value of type %T", v)
}

// m2t keeps an empty nested object a table rather than nil.
func m2t(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// TableToJSON converts a field table to values encoding/json and structpb
// take: integers as int64 or float64, bytes as base64, decimals and
// timestamps as numbers. A nil table gives an empty object, as RabbitMQ
// writes "arguments": {}.
func TableToJSON(t Table) map[string]any {
	m := make(map[string]any, len(t))
	for k, v := range t {
		m[k] = fieldToJSON(v)
	}
	return m
}

func fieldToJSON(v any) any {
	switch v := v.(type) {
	case Table:
		return TableToJSON(v)
	case map[string]any:
		return TableToJSON(Table(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = fieldToJSON(e)
		}
		return out
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case Decimal:
		return float64(v.Value) / math.Pow10(int(v.Scale))
	case time.Time:
		return v.Unix()
	case float32:
		return float64(v)
	case int8, uint8, int16, uint16, int32, uint32, int64, int, uint64:
		return toInt64(v)
	}
	return v // nil, bool, string, float64
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int8:
		return int64(n)
	case uint8:
		return int64(n)
	case int16:
		return int64(n)
	case uint16:
		return int64(n)
	case int32:
		return int64(n)
	case uint32:
		return int64(n)
	case int:
		return int64(n)
	case uint64:
		return int64(min(n, math.MaxInt64))
	}
	return v.(int64)
}
