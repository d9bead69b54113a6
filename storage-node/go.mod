module github.com/warrenmq/warren/storage-node

go 1.26

require (
	github.com/cockroachdb/pebble/v2 v2.1.7
	github.com/warrenmq/warren/api v0.0.0
)

replace github.com/warrenmq/warren/api => ../api
