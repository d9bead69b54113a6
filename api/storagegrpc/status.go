package storagegrpc

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/warrenmq/warren/api/storagepb"
)

// toStatus turns a storage error into a gRPC status whose details carry the
// encoded error, so the client gets the same *reply.Error back.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	st, derr := status.New(codes.FailedPrecondition, err.Error()).WithDetails(toPBError(err))
	if derr != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return st.Err()
}

// fromStatus recovers the storage error from a gRPC error.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		if e, ok := d.(*pb.Error); ok {
			return fromPBError(e)
		}
	}
	return err
}
