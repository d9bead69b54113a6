// Package amqp is Warren's model of AMQP 0-9-1 message content, shared by the
// gateway and the storage node: field tables (with RabbitMQ's type tags, not
// the spec's), the 14 basic content properties, and the content-header frame
// payload that carries them.
//
// Decoders treat every input as hostile: each length is checked against the
// bytes that remain before anything is allocated, nesting is bounded by
// MaxDepth, and every failure wraps ErrMalformed. Decoded values never alias
// the input, so callers may reuse their read buffers.
//
// properties_gen.go is generated from the spec XML by gateway/wire/gen.
package amqp
