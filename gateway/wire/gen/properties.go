package main

import (
	"bytes"
	"fmt"
	"go/format"
)

// renderProperties renders api/amqp/properties_gen.go from the fields of
// class basic: the Flag constants, the Properties struct, and the field
// codec that properties.go wraps.
func renderProperties(s *spec) ([]byte, error) {
	props, err := basicProperties(s)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("package amqp\n\n")
	b.WriteString("// Property flag bits of class basic, in spec order from the most\n// significant bit down.\nconst (\n")
	for i, f := range props {
		fmt.Fprintf(&b, "\tFlag%s uint16 = %#04x // %s\n", renamed(propertyNames, f.name), 0x8000>>i, f.name)
	}
	b.WriteString(")\n\n")
	b.WriteString("// Properties are the content properties of class basic. Flags holds the\n// property-flags word exactly as on the wire; a property is encoded, and\n// was decoded, only when its bit is set.\n")
	b.WriteString("type Properties struct {\n\tFlags uint16\n")
	for _, f := range props {
		fmt.Fprintf(&b, "\t%s %s // %s\n", renamed(propertyNames, f.name), goType(f.kind, ""), f.name)
	}
	b.WriteString("}\n\n")
	renderPropertyCodec(&b, props)
	return format.Source(b.Bytes())
}

// basicProperties returns class basic's fields, checking they fit in one
// flags word (bit 0 is the continuation bit) and include no bits.
func basicProperties(s *spec) ([]field, error) {
	for _, c := range s.classes {
		if c.name != "basic" {
			continue
		}
		if len(c.properties) > 15 {
			return nil, fmt.Errorf("class basic has %d properties, more than one flags word", len(c.properties))
		}
		for _, f := range c.properties {
			if f.kind == "bit" {
				return nil, fmt.Errorf("property %s is a bit, which the generator does not pack", f.name)
			}
		}
		return c.properties, nil
	}
	return nil, fmt.Errorf("spec has no class basic")
}

func renderPropertyCodec(b *bytes.Buffer, props []field) {
	b.WriteString("// decodeFields reads the properties whose flag is set, in spec order.\n")
	b.WriteString("func (p *Properties) decodeFields(d *decoder) {\n")
	for _, f := range props {
		name := renamed(propertyNames, f.name)
		dec, _ := scalarCode(f, "p."+name)
		fmt.Fprintf(b, "\tif p.Flags&Flag%s != 0 {\n\t\t%s\n\t}\n", name, dec)
	}
	b.WriteString("}\n\n")
	b.WriteString("// appendFields writes the properties whose flag is set, in spec order.\n")
	b.WriteString("func (p *Properties) appendFields(e *encoder) {\n")
	for _, f := range props {
		name := renamed(propertyNames, f.name)
		_, enc := scalarCode(f, "p."+name)
		fmt.Fprintf(b, "\tif p.Flags&Flag%s != 0 {\n\t\t%s\n\t}\n", name, enc)
	}
	b.WriteString("}\n")
}
