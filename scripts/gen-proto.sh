#!/usr/bin/env bash
# Regenerates the committed protobuf and gRPC code in api/ from api/proto.
# Needs protoc (apt-get install -y protobuf-compiler) and the two plugins:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
# Builds and tests never need these tools: the output is committed.
set -euo pipefail
cd "$(dirname "$0")/../api"
export PATH="$PATH:$(go env GOPATH)/bin"
protoc -I proto \
	--go_out=. --go_opt=module=github.com/warrenmq/warren/api \
	--go-grpc_out=. --go-grpc_opt=module=github.com/warrenmq/warren/api \
	proto/warren/common/v1/error.proto proto/warren/storage/v1/storage.proto proto/warren/control/v1/control.proto
