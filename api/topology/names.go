package topology

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what the provisioning API accepts.
const (
	// MaxInstanceNameLen is a DNS label's: an instance is found by the first
	// label of the TLS host name (<instance>.<domain>).
	MaxInstanceNameLen = 63
	// MaxDescriptionLen bounds a vhost's description.
	MaxDescriptionLen = 1024
	// MaxTags bounds the tags of one user or vhost.
	MaxTags = 32
	// MaxPatternLen bounds a permission's regular expression.
	MaxPatternLen = 4096
)

var instanceName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// CheckInstanceName accepts DNS labels: lower-case letters, digits and
// hyphens, not at either end, at most 63. Instance names never hold a
// colon, so a login "<instance>:<user>" splits at its first one.
func CheckInstanceName(name string) error {
	if name == "" || len(name) > MaxInstanceNameLen {
		return fmt.Errorf("instance name must be 1-%d characters", MaxInstanceNameLen)
	}
	if !instanceName.MatchString(name) {
		return fmt.Errorf("instance name %q: use lower-case letters, digits and hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// CheckEntityName accepts vhost and user names: 1-255 bytes of UTF-8 without
// control characters. RabbitMQ reserves no prefix for these (amq. is
// reserved only for exchanges and queues). kind is for the error text.
func CheckEntityName(kind, name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%s name must be 1-%d bytes", kind, MaxNameLen)
	}
	return checkText(kind+" name", name)
}

func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%s holds a control character", what)
	}
	return nil
}

// CheckDescription bounds a free-text description.
func CheckDescription(d string) error {
	if len(d) > MaxDescriptionLen {
		return fmt.Errorf("description must be at most %d bytes", MaxDescriptionLen)
	}
	return checkText("description", d)
}

// CheckTags accepts up to MaxTags tags of 1-255 bytes, without commas
// (RabbitMQ's HTTP API writes tags as one comma-separated string) or
// surrounding spaces.
func CheckTags(tags []string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("at most %d tags", MaxTags)
	}
	for _, t := range tags {
		if t == "" || len(t) > MaxNameLen || strings.ContainsRune(t, ',') || strings.TrimSpace(t) != t {
			return fmt.Errorf("tag %q: 1-%d bytes, no commas, no surrounding spaces", t, MaxNameLen)
		}
		if err := checkText("tag", t); err != nil {
			return err
		}
	}
	return nil
}

// CheckPermission compiles the three expressions. Warren evaluates them
// with Go's regexp (RE2), so an expression RE2 cannot run, such as one with
// a look-ahead, is refused here rather than failing at connection time.
func CheckPermission(p Permission) error {
	var errs []error
	for _, e := range []struct{ which, expr string }{
		{"configure", p.Configure}, {"write", p.Write}, {"read", p.Read},
	} {
		if len(e.expr) > MaxPatternLen {
			errs = append(errs, fmt.Errorf("%s pattern longer than %d bytes", e.which, MaxPatternLen))
			continue
		}
		if _, err := regexp.Compile(e.expr); err != nil {
			errs = append(errs, fmt.Errorf("%s pattern: %w", e.which, err))
		}
	}
	return errors.Join(errs...)
}
