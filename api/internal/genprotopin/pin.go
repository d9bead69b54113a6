// Package genprotopin exists only to keep a current google.golang.org/genproto
// in api's go.mod. Pebble's dependencies pull an old monolithic genproto into
// the workspace; next to grpc's split googleapis/rpc module it makes
// "ambiguous import … googleapis/rpc/status" (shared/TOOLCHAIN.md). go mod
// tidy drops a requirement no package imports, so this import holds it.
package genprotopin

import _ "google.golang.org/genproto/protobuf/field_mask"
