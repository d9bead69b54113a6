// Package reply defines the AMQP reply codes and the one error type that carries
// them. Every layer that can refuse a client request (gateway, storage node,
// control plane) returns *reply.Error, so the code that closes a channel or a
// connection reads the code in one place.
package reply

import "fmt"

// Reply codes from the AMQP 0-9-1 spec (constants section). The gateway's
// generated wire package carries the same values; a test there checks they agree.
const (
	Success            uint16 = 200
	ContentTooLarge    uint16 = 311
	NoRoute            uint16 = 312
	NoConsumers        uint16 = 313
	ConnectionForced   uint16 = 320
	InvalidPath        uint16 = 402
	AccessRefused      uint16 = 403
	NotFound           uint16 = 404
	ResourceLocked     uint16 = 405
	PreconditionFailed uint16 = 406
	FrameError         uint16 = 501
	SyntaxError        uint16 = 502
	CommandInvalid     uint16 = 503
	ChannelError       uint16 = 504
	UnexpectedFrame    uint16 = 505
	ResourceError      uint16 = 506
	NotAllowed         uint16 = 530
	NotImplemented     uint16 = 540
	InternalError      uint16 = 541
)

var names = map[uint16]string{
	Success: "OK", ContentTooLarge: "CONTENT_TOO_LARGE", NoRoute: "NO_ROUTE",
	NoConsumers: "NO_CONSUMERS", ConnectionForced: "CONNECTION_FORCED",
	InvalidPath: "INVALID_PATH", AccessRefused: "ACCESS_REFUSED", NotFound: "NOT_FOUND",
	ResourceLocked: "RESOURCE_LOCKED", PreconditionFailed: "PRECONDITION_FAILED",
	FrameError: "FRAME_ERROR", SyntaxError: "SYNTAX_ERROR", CommandInvalid: "COMMAND_INVALID",
	ChannelError: "CHANNEL_ERROR", UnexpectedFrame: "UNEXPECTED_FRAME",
	ResourceError: "RESOURCE_ERROR", NotAllowed: "NOT_ALLOWED",
	NotImplemented: "NOT_IMPLEMENTED", InternalError: "INTERNAL_ERROR",
}

// Name is the upper-case name RabbitMQ puts in front of its reply texts.
func Name(code uint16) string {
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("CODE_%d", code)
}

// IsHard reports whether RabbitMQ closes the whole connection for this code
// (rabbit_binary_generator:map_exception/2) rather than only the channel.
func IsHard(code uint16) bool {
	switch code {
	case ConnectionForced, InvalidPath, FrameError, SyntaxError, CommandInvalid,
		ChannelError, UnexpectedFrame, ResourceError, NotAllowed, NotImplemented, InternalError:
		return true
	}
	return false
}

// Error is a refusal the client sees as channel.close or connection.close.
// Text is the explanation without the "NAME - " prefix; ClassID and MethodID
// name the method that failed, or are zero when the gateway fills them in.
type Error struct {
	Code     uint16
	Text     string
	ClassID  uint16
	MethodID uint16
}

// Errorf builds an Error with a formatted explanation.
func Errorf(code uint16, format string, args ...any) *Error {
	return &Error{Code: code, Text: fmt.Sprintf(format, args...)}
}

// ReplyText is the text sent on the wire: "NAME - explanation", cut to 255 bytes
// as RabbitMQ does (rabbit_binary_generator:amqp_exception_explanation/2).
func (e *Error) ReplyText() string {
	s := Name(e.Code) + " - " + e.Text
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Code, e.ReplyText()) }

// NotFoundQueue is RabbitMQ's text for a missing queue (rabbit_amqqueue:not_found/1).
func NotFoundQueue(vhost, name string) *Error {
	return Errorf(NotFound, "no queue '%s' in vhost '%s'", name, vhost)
}

// NotFoundExchange is RabbitMQ's text for a missing exchange.
func NotFoundExchange(vhost, name string) *Error {
	return Errorf(NotFound, "no exchange '%s' in vhost '%s'", name, vhost)
}
