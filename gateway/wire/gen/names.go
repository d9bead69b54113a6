package main

import "strings"

// Renames where the camel-cased XML name would not compile or would mislead.
var (
	// methodFieldNames: connection.close and channel.close carry the ids
	// of the failing method. ClassID and MethodID are taken by the Method
	// interface, so these keep amqp091-go's spelling.
	methodFieldNames = map[string]string{
		"class-id":  "ClassId",
		"method-id": "MethodId",
	}
	// propertyNames: the 14th basic property is "reserved" in the
	// extended spec and cluster-id in the original 0-9-1 spec.
	propertyNames = map[string]string{"reserved": "ClusterID"}
	// constantNames: FrameError is the name of the error type.
	constantNames = map[string]string{"frame-error": "FrameErrorCode"}
)

// camel turns an XML name into a Go identifier: "routing-key" → RoutingKey,
// "message-id" → MessageID, "reserved-1" → Reserved1.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part == "id" {
			b.WriteString("ID")
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// renamed returns names[name] if present, else camel(name).
func renamed(names map[string]string, name string) string {
	if n, ok := names[name]; ok {
		return n
	}
	return camel(name)
}

// typeName is the Go type of a method: class and method camel-cased,
// e.g. BasicPublish, ExchangeUnbindOk.
func (m method) typeName() string { return camel(m.class) + camel(m.name) }

// dotted is the spec's name of a method, e.g. "basic.publish".
func (m method) dotted() string { return m.class + "." + m.name }

// replyName is a reply code's name in RabbitMQ's reply-text form, e.g.
// "not-found" → NOT_FOUND.
func replyName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}
