package main

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"
)

// renderMethods renders methods_gen.go: a struct per method with the Method
// interface, Decode, and newMethod, the id → struct switch DecodeMethod uses.
func renderMethods(s *spec) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("package wire\n\n")
	if usesTables(s) {
		b.WriteString("import \"github.com/warrenmq/warren/api/amqp\"\n\n")
	}
	for _, c := range s.classes {
		for _, m := range c.methods {
			renderMethod(&b, m)
		}
	}
	renderNewMethod(&b, s)
	return format.Source(b.Bytes())
}

func usesTables(s *spec) bool {
	for _, c := range s.classes {
		for _, m := range c.methods {
			for _, f := range m.fields {
				if f.kind == "table" {
					return true
				}
			}
		}
	}
	return false
}

// renderMethod renders one method's struct and its methods.
func renderMethod(b *bytes.Buffer, m method) {
	t := m.typeName()
	content := ""
	if m.content {
		content = " Content (a header and body frames) follows it."
	}
	fmt.Fprintf(b, "// %s is %s (class %d, method %d).%s\n", t, m.dotted(), m.classIndex, m.index, content)
	fmt.Fprintf(b, "type %s struct {\n", t)
	for _, f := range m.fields {
		fmt.Fprintf(b, "\t%s %s // %s\n", renamed(methodFieldNames, f.name), goType(f.kind, "amqp."), f.name)
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(b, "func (*%s) ClassID() uint16 { return %d }\n", t, m.classIndex)
	fmt.Fprintf(b, "func (*%s) MethodID() uint16 { return %d }\n", t, m.index)
	fmt.Fprintf(b, "func (*%s) Name() string { return %q }\n", t, m.dotted())
	fmt.Fprintf(b, "func (*%s) HasContent() bool { return %t }\n\n", t, m.content)
	dec, enc := fieldCode(m.fields, func(n string) string { return renamed(methodFieldNames, n) }, "m")
	fmt.Fprintf(b, "// Append appends class-id, method-id and the arguments of %s.\n", m.dotted())
	fmt.Fprintf(b, "func (m *%s) Append(b []byte) ([]byte, error) {\n", t)
	fmt.Fprintf(b, "\te := encoder{b: b}\n\te.short(%d)\n\te.short(%d)\n", m.classIndex, m.index)
	writeLines(b, enc)
	fmt.Fprintf(b, "\treturn e.result(len(b), %q)\n}\n\n", m.dotted())
	fmt.Fprintf(b, "// Decode overwrites every field of m from args, the payload after the\n// class and method ids. Errors wrap ErrMalformed.\n")
	fmt.Fprintf(b, "func (m *%s) Decode(args []byte) error {\n\td := decoder{b: args}\n", t)
	writeLines(b, dec)
	fmt.Fprintf(b, "\treturn d.finish(%q)\n}\n\n", m.dotted())
}

// renderNewMethod renders the switch from ids to a new zero struct.
func renderNewMethod(b *bytes.Buffer, s *spec) {
	b.WriteString("// newMethod returns a new zero method for the ids, or nil if the spec has none.\n")
	b.WriteString("func newMethod(classID, methodID uint16) decodable {\n")
	b.WriteString("\tswitch uint32(classID)<<16 | uint32(methodID) {\n")
	for _, c := range s.classes {
		for _, m := range c.methods {
			fmt.Fprintf(b, "\tcase %d<<16 | %d:\n\t\treturn new(%s)\n", m.classIndex, m.index, m.typeName())
		}
	}
	b.WriteString("\t}\n\treturn nil\n}\n")
}

// fieldCode returns the decode and encode statements for fields held in
// recv. Consecutive bit fields share an octet, least significant bit first,
// at most 8 to an octet.
func fieldCode(fields []field, goName func(string) string, recv string) (dec, enc []string) {
	bitsDeclared := false
	for i := 0; i < len(fields); {
		f := fields[i]
		if f.kind != "bit" {
			d, e := scalarCode(f, recv+"."+goName(f.name))
			dec, enc = append(dec, d), append(enc, e)
			i++
			continue
		}
		j := i
		for j < len(fields) && fields[j].kind == "bit" && j-i < 8 {
			j++
		}
		d, e := bitsCode(fields[i:j], goName, recv, bitsDeclared)
		dec, enc = append(dec, d...), append(enc, e)
		bitsDeclared = true
		i = j
	}
	return dec, enc
}

// scalarCode returns the statements that read and write one non-bit field.
func scalarCode(f field, lhs string) (dec, enc string) {
	k := kinds[f.kind]
	dec = fmt.Sprintf("%s = d.%s()", lhs, k.decode)
	if k.named {
		return dec, fmt.Sprintf("e.%s(%q, %s)", k.encode, f.name, lhs)
	}
	return dec, fmt.Sprintf("e.%s(%s)", k.encode, lhs)
}

// bitsCode returns the statements that read and write one octet of bits.
func bitsCode(bits []field, goName func(string) string, recv string, declared bool) (dec []string, enc string) {
	op := ":="
	if declared {
		op = "="
	}
	dec = append(dec, fmt.Sprintf("bits %s d.octet()", op))
	var terms []string
	for n, f := range bits {
		lhs := recv + "." + goName(f.name)
		dec = append(dec, fmt.Sprintf("%s = bits&(1<<%d) != 0", lhs, n))
		terms = append(terms, fmt.Sprintf("bit(%s, %d)", lhs, n))
	}
	return dec, fmt.Sprintf("e.octet(%s)", strings.Join(terms, " | "))
}

// goType is the Go type of a primitive, with tables qualified by tablePkg.
func goType(kind, tablePkg string) string {
	t := kinds[kind].goType
	if t == "Table" {
		return tablePkg + t
	}
	return t
}

func writeLines(b *bytes.Buffer, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(b, "\t%s\n", l)
	}
}
