#!/usr/bin/env bash
# Regenerates the committed protobuf, gRPC, grpc-gateway and OpenAPI output
# in api/ from api/proto. Needs protoc (apt-get install -y protobuf-compiler,
# which also brings google/protobuf/*.proto) and four plugins:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
#   go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
#   go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.33.0
# Builds and tests never need these tools: the output is committed.
# api/proto/google/api holds the two googleapis files protoc does not ship;
# no Go is generated from them (genproto has it).
set -euo pipefail
cd "$(dirname "$0")/../api"
export PATH="$PATH:$(go env GOPATH)/bin"
protoc -I proto \
	--go_out=. --go_opt=module=github.com/warrenmq/warren/api \
	--go-grpc_out=. --go-grpc_opt=module=github.com/warrenmq/warren/api \
	proto/warren/common/v1/error.proto proto/warren/storage/v1/storage.proto proto/warren/control/v1/control.proto

mkdir -p provisionpb
provision=(proto/warren/provision/v1/resources.proto proto/warren/provision/v1/provision.proto)
protoc -I proto \
	--go_out=. --go_opt=module=github.com/warrenmq/warren/api \
	--go-grpc_out=. --go-grpc_opt=module=github.com/warrenmq/warren/api \
	--grpc-gateway_out=. --grpc-gateway_opt=module=github.com/warrenmq/warren/api \
	--openapiv2_out=provisionpb \
	--openapiv2_opt=allow_merge=true,merge_file_name=provision,json_names_for_fields=false \
	--openapiv2_opt=openapi_configuration=proto/warren/provision/v1/openapi.yaml \
	--openapiv2_opt=disable_default_errors=true,omit_enum_default_value=true \
	"${provision[@]}"
