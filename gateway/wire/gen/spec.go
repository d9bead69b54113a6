package main

import (
	"encoding/xml"
	"fmt"
	"os"
)

// The spec XML, reduced to what the generator reads.
type xmlSpec struct {
	Port      int           `xml:"port,attr"`
	Constants []xmlConstant `xml:"constant"`
	Domains   []xmlDomain   `xml:"domain"`
	Classes   []xmlClass    `xml:"class"`
}

type xmlConstant struct {
	Name  string `xml:"name,attr"`
	Value int    `xml:"value,attr"`
	Class string `xml:"class,attr"` // "soft-error", "hard-error" or empty
}

type xmlDomain struct {
	Name string `xml:"name,attr"`
	Type string `xml:"type,attr"`
}

type xmlClass struct {
	Name    string      `xml:"name,attr"`
	Index   int         `xml:"index,attr"`
	Fields  []xmlField  `xml:"field"` // content properties
	Methods []xmlMethod `xml:"method"`
}

type xmlMethod struct {
	Name    string     `xml:"name,attr"`
	Index   int        `xml:"index,attr"`
	Content int        `xml:"content,attr"`
	Fields  []xmlField `xml:"field"`
}

type xmlField struct {
	Name   string `xml:"name,attr"`
	Domain string `xml:"domain,attr"`
	Type   string `xml:"type,attr"` // set instead of Domain on reserved fields
}

// spec is the resolved model the renderers use: every field carries its
// primitive AMQP type.
type spec struct {
	port      int
	constants []xmlConstant
	classes   []class
}

type class struct {
	name       string
	index      int
	properties []field
	methods    []method
}

type method struct {
	class, name string
	classIndex  int
	index       int
	content     bool
	fields      []field
}

type field struct {
	name string // XML name, e.g. "routing-key"
	kind string // primitive type: octet, short, long, longlong, timestamp, shortstr, longstr, bit, table
}

// loadSpec parses the XML at path and resolves every field's domain.
func loadSpec(path string) (*spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var x xmlSpec
	if err := xml.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	domains := map[string]string{}
	for _, d := range x.Domains {
		domains[d.Name] = d.Type
	}
	s := &spec{port: x.Port, constants: x.Constants}
	for _, xc := range x.Classes {
		c, err := resolveClass(xc, domains)
		if err != nil {
			return nil, err
		}
		s.classes = append(s.classes, c)
	}
	return s, nil
}

func resolveClass(xc xmlClass, domains map[string]string) (class, error) {
	c := class{name: xc.Name, index: xc.Index}
	var err error
	if c.properties, err = resolveFields(xc.Fields, domains); err != nil {
		return c, fmt.Errorf("class %s: %w", xc.Name, err)
	}
	for _, xm := range xc.Methods {
		m := method{class: xc.Name, name: xm.Name, classIndex: xc.Index, index: xm.Index, content: xm.Content == 1}
		if m.fields, err = resolveFields(xm.Fields, domains); err != nil {
			return c, fmt.Errorf("method %s.%s: %w", xc.Name, xm.Name, err)
		}
		c.methods = append(c.methods, m)
	}
	return c, nil
}

// resolveFields maps each field to a primitive type through its domain (or
// its type attribute, used by reserved fields).
func resolveFields(xfs []xmlField, domains map[string]string) ([]field, error) {
	var fs []field
	for _, xf := range xfs {
		kind := xf.Type
		if xf.Domain != "" {
			kind = domains[xf.Domain]
		}
		if _, ok := kinds[kind]; !ok {
			return nil, fmt.Errorf("field %s: unknown type %q (domain %q)", xf.Name, kind, xf.Domain)
		}
		fs = append(fs, field{name: xf.Name, kind: kind})
	}
	return fs, nil
}

// kindCodec says how a primitive type is held in Go and which decoder and
// encoder methods (shared by the hand-written codec.go of wire and amqp)
// read and write it. Bits are packed by the renderer instead.
type kindCodec struct {
	goType string // "Table" is qualified per package by the renderer
	decode string // decoder method
	encode string // encoder method
	named  bool   // encoder takes the field name for error context
}

var kinds = map[string]kindCodec{
	"octet":     {"uint8", "octet", "octet", false},
	"short":     {"uint16", "short", "short", false},
	"long":      {"uint32", "long", "long", false},
	"longlong":  {"uint64", "longlong", "longlong", false},
	"timestamp": {"uint64", "longlong", "longlong", false},
	"shortstr":  {"string", "shortstr", "shortstr", true},
	"longstr":   {"string", "longstr", "longstr", true},
	"table":     {"Table", "table", "table", true},
	"bit":       {"bool", "", "", false},
}
