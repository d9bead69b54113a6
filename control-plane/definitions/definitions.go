// Package definitions is RabbitMQ's definitions file: the JSON that GET
// /api/definitions exports and POST /api/definitions imports (vhosts,
// users with password hashes, permissions, policies, exchanges, queues,
// bindings). It decodes a file strictly into the topology model and
// encodes the model back; it does no I/O and checks only what the file
// alone shows — whether the rest of an instance agrees is the importer's
// check.
package definitions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// File is a definitions file, with the fields RabbitMQ 3.10 to 3.13 write.
// Sections Warren has no use for must be empty, so nothing in a file is
// dropped silently; global_parameters (the cluster's name and ID) are
// the deployment's own and are ignored.
type File struct {
	RabbitVersion    string            `json:"rabbit_version,omitempty"`
	RabbitMQVersion  string            `json:"rabbitmq_version,omitempty"`
	ProductName      string            `json:"product_name,omitempty"`
	ProductVersion   string            `json:"product_version,omitempty"`
	Users            []User            `json:"users"`
	VHosts           []VHost           `json:"vhosts"`
	Permissions      []Permission      `json:"permissions"`
	TopicPermissions []json.RawMessage `json:"topic_permissions"`
	Parameters       []json.RawMessage `json:"parameters"`
	GlobalParameters []json.RawMessage `json:"global_parameters"`
	Policies         []Policy          `json:"policies"`
	Queues           []Queue           `json:"queues"`
	Exchanges        []Exchange        `json:"exchanges"`
	Bindings         []Binding         `json:"bindings"`
}

// User is a user entry. Tags are a list since RabbitMQ 3.10 and a
// comma-separated string before.
type User struct {
	Name             string         `json:"name"`
	PasswordHash     string         `json:"password_hash"`
	HashingAlgorithm string         `json:"hashing_algorithm"`
	Tags             Tags           `json:"tags"`
	Limits           map[string]any `json:"limits"`
}

// VHost is a vhost entry; 3.11 and later add metadata.
type VHost struct {
	Name             string          `json:"name"`
	Description      string          `json:"description,omitempty"`
	Tags             Tags            `json:"tags,omitempty"`
	DefaultQueueType string          `json:"default_queue_type,omitempty"`
	Metadata         *VHostMetadata  `json:"metadata,omitempty"`
	Limits           json.RawMessage `json:"limits,omitempty"`
}

// VHostMetadata is the metadata object of newer exports.
type VHostMetadata struct {
	Description      string `json:"description,omitempty"`
	Tags             Tags   `json:"tags,omitempty"`
	DefaultQueueType string `json:"default_queue_type,omitempty"`
}

// Permission is a permission entry.
type Permission struct {
	User      string `json:"user"`
	VHost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// Policy is a policy entry.
type Policy struct {
	VHost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Definition map[string]any `json:"definition"`
	Priority   int            `json:"priority"`
}

// Queue is a queue entry; 3.13 adds type.
type Queue struct {
	Name       string         `json:"name"`
	VHost      string         `json:"vhost"`
	Type       string         `json:"type,omitempty"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
}

// Exchange is an exchange entry.
type Exchange struct {
	Name       string         `json:"name"`
	VHost      string         `json:"vhost"`
	Type       string         `json:"type"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Internal   bool           `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

// Binding is a binding entry.
type Binding struct {
	Source          string         `json:"source"`
	VHost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
}

// Tags reads a list of tags or a comma-separated string, and writes a list.
type Tags []string

// UnmarshalJSON takes ["a","b"] or "a,b".
func (t *Tags) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = splitTags(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("tags must be a list of strings or a comma-separated string")
	}
	*t = list
	return nil
}

func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Decode reads a definitions file strictly: one JSON object, no unknown
// fields at any level, and no sections Warren cannot import.
func Decode(b []byte) (*File, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var f File
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("definitions: %w", err)
	}
	if d.More() {
		return nil, errors.New("definitions: trailing data after the JSON object")
	}
	if len(f.TopicPermissions) > 0 {
		return nil, errors.New("definitions: topic_permissions are not supported")
	}
	if len(f.Parameters) > 0 {
		return nil, errors.New("definitions: parameters (federation, shovels, vhost limits) are not supported")
	}
	return &f, nil
}
