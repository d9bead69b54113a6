package amqp

// flagContinuation is bit 0 of property-flags: "another flags word follows".
// Class basic has 14 properties, so a peer that sets it is malformed.
const flagContinuation = 0x0001

// DecodeProperties decodes property-flags and the property list that follows
// them: the part of a content-header payload after class-id, weight and
// body-size (rawProps from ParseHeader). Only fields whose bit is set in
// Flags are read; the others stay zero. Errors wrap ErrMalformed: the
// continuation bit set, a field truncated, or bytes left over.
func DecodeProperties(b []byte) (Properties, error) {
	var p Properties
	d := decoder{b: b}
	p.Flags = d.short()
	if d.err == nil && p.Flags&flagContinuation != 0 {
		return Properties{}, malformed("property flags %#04x have the continuation bit set", p.Flags)
	}
	p.decodeFields(&d)
	if err := d.finish(); err != nil {
		return Properties{}, err
	}
	return p, nil
}

// Append appends property-flags (p.Flags as is) and the value of each
// property whose bit is set, in spec order. On error (continuation bit set,
// a short string over 255 bytes, an unencodable header value) it returns b
// unchanged.
func (p *Properties) Append(b []byte) ([]byte, error) {
	if p.Flags&flagContinuation != 0 {
		return b, malformed("property flags %#04x have the continuation bit set", p.Flags)
	}
	e := encoder{b: b}
	e.short(p.Flags)
	p.appendFields(&e)
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}
