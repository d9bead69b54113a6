# Warren — see README.md. Every target works from a fresh clone with only Go installed.
GO       ?= go
PKGS     := github.com/warrenmq/warren/api/... github.com/warrenmq/warren/gateway/... \
            github.com/warrenmq/warren/storage-node/... github.com/warrenmq/warren/control-plane/... \
            github.com/warrenmq/warren/services/...
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a clean run with "context deadline exceeded" at the deadline on a
# loaded machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 100000x

.PHONY: build run test unit e2e e2e-split fuzz bench bench-backlog gen conformance vet clean

build:
	$(GO) build -o bin/warren ./services/cmd/warren

# ARGS passes flags to warren serve, e.g. make run ARGS="--amqp-addr :5673".
run: build
	./bin/warren serve $(ARGS)

# The README's test command: unit tests, the end-to-end suite against a real
# `warren serve` and against the split deployment, and every fuzz target briefly.
test: vet unit e2e e2e-split fuzz

vet:
	$(GO) vet $(PKGS) github.com/warrenmq/warren/e2e/...

unit:
	$(GO) test -count=1 $(PKGS)

e2e:
	cd e2e && $(GO) test -count=1 -timeout 20m ./...

# The same suite against separate control-plane, storage-node and gateway processes.
e2e-split:
	cd e2e && E2E_SHAPE=split $(GO) test -count=1 -timeout 20m ./...

fuzz:
	cd gateway && $(GO) test -run='^$$' -fuzz='^FuzzReadFrame$$' -fuzztime=$(FUZZTIME) ./wire
	cd gateway && $(GO) test -run='^$$' -fuzz='^FuzzDecodeMethod$$' -fuzztime=$(FUZZTIME) ./wire
	cd api && $(GO) test -run='^$$' -fuzz='^FuzzReadTable$$' -fuzztime=$(FUZZTIME) ./amqp
	cd api && $(GO) test -run='^$$' -fuzz='^FuzzDecodeProperties$$' -fuzztime=$(FUZZTIME) ./amqp
	cd api && $(GO) test -run='^$$' -fuzz='^FuzzUnpackPublishes$$' -fuzztime=$(FUZZTIME) ./storagegrpc
	cd api && $(GO) test -run='^$$' -fuzz='^FuzzUnpackDeliveries$$' -fuzztime=$(FUZZTIME) ./storagegrpc
	cd api && $(GO) test -run='^$$' -fuzz='^FuzzUnpackSettles$$' -fuzztime=$(FUZZTIME) ./storagegrpc
	cd storage-node && $(GO) test -run='^$$' -fuzz='^FuzzDecodeSegment$$' -fuzztime=$(FUZZTIME) ./segment
	cd api && $(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./alarm
	cd storage-node && $(GO) test -run='^$$' -fuzz='^FuzzDecodeRecord$$' -fuzztime=$(FUZZTIME) ./pebblestore
	cd storage-node && $(GO) test -run='^$$' -fuzz='^FuzzDecodeSegmentEntry$$' -fuzztime=$(FUZZTIME) ./pebblestore
	cd storage-node && $(GO) test -run='^$$' -fuzz='^FuzzParseObjectKey$$' -fuzztime=$(FUZZTIME) ./pebblestore
	cd storage-node && $(GO) test -run='^$$' -fuzz='^FuzzDecodeNodeID$$' -fuzztime=$(FUZZTIME) ./pebblestore
	cd services && $(GO) test -run='^$$' -fuzz='^FuzzDecodeReply$$' -fuzztime=$(FUZZTIME) ./gatewayd
	cd services && $(GO) test -run='^$$' -fuzz='^FuzzDecodeBody$$' -fuzztime=$(FUZZTIME) ./perf

# Benchmarks: Go benchmarks of the hot paths, then the `warren perf` matrix
# (against RabbitMQ too when RABBITMQ_URL is set).
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)
	bash scripts/bench.sh

# Deep backlogs (issue 4): publish then drain BACKLOGS messages on a fresh
# warren serve, and on RabbitMQ when RABBITMQ_URL is set.
bench-backlog: build
	bash scripts/bench-backlog.sh

# Regenerates the committed wire codec from the spec, and the protobuf and
# gRPC code, the REST gateway and the OpenAPI document from api/proto
# (needs protoc and its plugins; see scripts/gen-proto.sh).
gen:
	cd gateway && $(GO) generate ./wire
	bash scripts/gen-proto.sh

# Runs the e2e suite against a real RabbitMQ (installed from apt) to prove
# the expectations are RabbitMQ's.
conformance:
	bash scripts/conformance.sh

clean:
	rm -rf bin
