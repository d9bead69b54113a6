package rpcerr

import (
	"errors"
	"testing"

	"github.com/warrenmq/warren/api/reply"
)

func TestRoundTrips(t *testing.T) {
	re := &reply.Error{Code: reply.PreconditionFailed, Text: "queue 'q' in vhost '/' not empty", ClassID: 50, MethodID: 40}
	for name, through := range map[string]func(error) error{
		"message": func(err error) error { return Decode(Encode(err)) },
		"status":  func(err error) error { return FromStatus(ToStatus(err)) },
	} {
		var got *reply.Error
		if !errors.As(through(re), &got) || *got != *re {
			t.Errorf("%s: reply error came back as %#v", name, through(re))
		}
		if err := through(errors.New("disk full")); err == nil || err.Error() != "disk full" {
			t.Errorf("%s: plain error came back as %v", name, err)
		}
		if through(nil) != nil {
			t.Errorf("%s: nil did not stay nil", name)
		}
	}
}
