// Package rpcerr carries errors across Warren's gRPC services: a
// *reply.Error keeps its AMQP code on the other side, any other error keeps
// its text. Both the message field form (commonpb.Error) and the gRPC
// status form are here, so every service encodes errors one way.
package rpcerr

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/warrenmq/warren/api/commonpb"
	"github.com/warrenmq/warren/api/reply"
)

// Encode turns an error into its message form; nil stays nil.
func Encode(err error) *commonpb.Error {
	if err == nil {
		return nil
	}
	var re *reply.Error
	if errors.As(err, &re) {
		return &commonpb.Error{Code: uint32(re.Code), Text: re.Text, ClassId: uint32(re.ClassID), MethodId: uint32(re.MethodID)}
	}
	return &commonpb.Error{Text: err.Error()}
}

// Decode turns a message form back into an error; nil stays nil.
func Decode(e *commonpb.Error) error {
	if e == nil {
		return nil
	}
	if e.GetCode() == 0 {
		return errors.New(e.GetText())
	}
	return &reply.Error{Code: uint16(e.GetCode()), Text: e.GetText(), ClassID: uint16(e.GetClassId()), MethodID: uint16(e.GetMethodId())}
}

// ToStatus turns an error into a gRPC status that carries its message form.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	st, derr := status.New(codes.FailedPrecondition, err.Error()).WithDetails(Encode(err))
	if derr != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return st.Err()
}

// FromStatus recovers the error ToStatus encoded; other errors pass through.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		if e, ok := d.(*commonpb.Error); ok {
			return Decode(e)
		}
	}
	return err
}
