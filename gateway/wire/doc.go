// Package wire is the AMQP 0-9-1 frame and method codec of Warren's gateway:
// FrameReader splits a connection's byte stream into frames, DecodeMethod
// turns a method frame's payload into one of the generated method structs,
// and FrameWriter batches outgoing frames into one buffer per flush.
//
// methods_gen.go, constants_gen.go and api/amqp/properties_gen.go are
// generated from spec/amqp0-9-1.stripped.extended.xml (RabbitMQ's extended
// 0-9-1 spec) by ./gen; edit the generator, not its output.
package wire

//go:generate go run ./gen
