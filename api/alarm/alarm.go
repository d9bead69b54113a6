// Package alarm is the vocabulary of resource alarms shared by every shape of
// Warren: a storage node's memory and disk alarms, RabbitMQ's reason text a
// blocked publisher is told, and the message a storage node of the split
// deployment announces a change with on core NATS.
//
// As in RabbitMQ, alarms are cluster-wide: an alarm on any storage node
// blocks the publishers of every gateway.
package alarm

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// State is a set of resource alarms: a storage node's, or the OR of several.
type State struct {
	Memory bool `json:"memory,omitempty"`
	Disk   bool `json:"disk,omitempty"`
}

// Or is the alarms set in s or in o.
func (s State) Or(o State) State {
	return State{Memory: s.Memory || o.Memory, Disk: s.Disk || o.Disk}
}

// Reason is rabbit_reader's connection.blocked text, "low on <resource>",
// or "" when no alarm is set (the publish gate is open).
func (s State) Reason() string {
	switch {
	case s.Memory && s.Disk:
		return "low on disk & memory"
	case s.Memory:
		return "low on memory"
	case s.Disk:
		return "low on disk"
	}
	return ""
}

// Status is a storage node's alarms as of one change. Version grows with
// every change and across the node's restarts (it starts from the start
// time), so a reader holding two statuses of a node keeps the newer one
// whichever way they reached it (NATS message or registry heartbeat).
type Status struct {
	State
	Version uint64 `json:"version"`
}

// Newer reports whether s should replace cur: it is at least as recent.
func (s Status) Newer(cur Status) bool { return s.Version >= cur.Version }

// SubjectPrefix starts the core NATS subject a storage node announces its
// alarm changes on (Subject). Core NATS, not JetStream: a gateway that
// misses a message learns the state from the node's next registry
// heartbeat, which carries it too.
const SubjectPrefix = "warren.alarms."

// Subjects matches every storage node's alarm subject.
const Subjects = SubjectPrefix + "*"

// Subject is the node's alarm subject, warren.alarms.<node>. A name such as
// "10.0.0.5:7001" holds characters a subject token may not, so it is
// base64url-encoded, as in the registry's keys; messages carry the name.
func Subject(node string) string {
	return SubjectPrefix + base64.RawURLEncoding.EncodeToString([]byte(node))
}

// Message is what a storage node publishes on its alarm subject.
type Message struct {
	Node string `json:"node"`
	Status
}

// maxNodeName bounds the node name a message may carry.
const maxNodeName = 1024

// Encode returns the message's NATS payload (JSON, some 60 bytes).
func (m Message) Encode() []byte {
	b, _ := json.Marshal(m) // a struct of strings, bools and ints always marshals
	return b
}

var errNoNode = errors.New("alarm message: no node name")

// Decode parses an Encode payload; it refuses one without a sane node name.
func Decode(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("alarm message: %w", err)
	}
	if m.Node == "" || len(m.Node) > maxNodeName {
		return Message{}, errNoNode
	}
	return m, nil
}
