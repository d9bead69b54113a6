package storagegrpc

import (
	"reflect"
	"testing"

	"github.com/warrenmq/warren/api/storage"
)

// TestStatsRoundTrip gives every QueueStats field its own value, so a
// field the conversion forgets comes back zero.
func TestStatsRoundTrip(t *testing.T) {
	var in storage.QueueStats
	var next uint64
	fillDistinct(reflect.ValueOf(&in).Elem(), &next)
	if out := fromPBStats(toPBStats(in)); out != in {
		t.Fatalf("round trip of %+v gave %+v", in, out)
	}
}

// fillDistinct gives every number in v, nested structs included, its own
// value.
func fillDistinct(v reflect.Value, next *uint64) {
	if v.Kind() == reflect.Struct {
		for i := range v.NumField() {
			fillDistinct(v.Field(i), next)
		}
		return
	}
	*next++
	if v.Kind() == reflect.Float64 {
		v.SetFloat(float64(*next) + 0.5)
		return
	}
	v.SetUint(*next)
}
