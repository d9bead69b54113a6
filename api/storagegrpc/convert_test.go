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
	v := reflect.ValueOf(&in).Elem()
	for i := range v.NumField() {
		v.Field(i).SetUint(uint64(i + 1))
	}
	if out := fromPBStats(toPBStats(in)); out != in {
		t.Fatalf("round trip of %+v gave %+v", in, out)
	}
}
