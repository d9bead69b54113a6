package main

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"
)

// renderConstants renders constants_gen.go: the port, frame constants,
// reply codes with ReplyName and IsHardError, and class ids.
func renderConstants(s *spec) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("package wire\n\n")
	fmt.Fprintf(&b, "// Port is the spec's default AMQP 0-9-1 port.\nconst Port = %d\n\n", s.port)
	frames, replies := splitConstants(s.constants)
	b.WriteString("// Frame types, the frame-end octet and frame-min-size from the spec.\nconst (\n")
	for _, c := range frames {
		fmt.Fprintf(&b, "\t%s = %d\n", renamed(constantNames, c.Name), c.Value)
	}
	b.WriteString(")\n\n")
	b.WriteString("// Reply codes from the spec, for connection.close, channel.close and\n// basic.return. Soft errors close the channel, hard errors the connection.\nconst (\n")
	for _, c := range replies {
		fmt.Fprintf(&b, "\t%s = %d // %s\n", renamed(constantNames, c.Name), c.Value, describe(c))
	}
	b.WriteString(")\n\n")
	b.WriteString("// Class ids from the spec.\nconst (\n")
	for _, c := range s.classes {
		fmt.Fprintf(&b, "\tClass%s = %d\n", camel(c.name), c.index)
	}
	b.WriteString(")\n\n")
	renderReplyName(&b, replies)
	renderIsHardError(&b, replies)
	return format.Source(b.Bytes())
}

// splitConstants separates the frame constants (named frame-*, with no
// error class) from the reply codes.
func splitConstants(cs []xmlConstant) (frames, replies []xmlConstant) {
	for _, c := range cs {
		if strings.HasPrefix(c.Name, "frame-") && c.Class == "" {
			frames = append(frames, c)
		} else {
			replies = append(replies, c)
		}
	}
	return frames, replies
}

func renderReplyName(b *bytes.Buffer, replies []xmlConstant) {
	b.WriteString("// ReplyName returns the name of a reply code as RabbitMQ prefixes reply\n// texts with it (\"NOT_FOUND\" for 404), or \"\" for a code not in the spec.\n")
	b.WriteString("func ReplyName(code uint16) string {\n\tswitch code {\n")
	for _, c := range replies {
		fmt.Fprintf(b, "\tcase %d:\n\t\treturn %q\n", c.Value, replyName(c.Name))
	}
	b.WriteString("\t}\n\treturn \"\"\n}\n\n")
}

func renderIsHardError(b *bytes.Buffer, replies []xmlConstant) {
	var hard []string
	for _, c := range replies {
		if c.Class == "hard-error" {
			hard = append(hard, fmt.Sprint(c.Value))
		}
	}
	b.WriteString("// IsHardError reports whether the spec classes code as a hard error, one\n// answered with connection.close rather than channel.close.\n")
	fmt.Fprintf(b, "func IsHardError(code uint16) bool {\n\tswitch code {\n\tcase %s:\n\t\treturn true\n\t}\n\treturn false\n}\n", strings.Join(hard, ", "))
}

// describe is a reply code's comment: its spec name and error class.
func describe(c xmlConstant) string {
	if c.Class == "" {
		return c.Name
	}
	return fmt.Sprintf("%s (%s)", c.Name, strings.ReplaceAll(c.Class, "-", " "))
}
