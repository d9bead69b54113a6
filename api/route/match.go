package route

import (
	"strings"

	"github.com/warrenmq/warren/api/amqp"
	"github.com/warrenmq/warren/api/topology"
)

// matcher finds the bindings of one exchange that match a message.
type matcher interface {
	match(keys []string, headers amqp.Table, fn func(topology.Binding))
}

func newMatcher(typ string, bindings map[string]topology.Binding) matcher {
	switch typ {
	case topology.Fanout:
		return fanoutMatcher(values(bindings))
	case topology.Topic:
		return newTopicMatcher(bindings)
	case topology.Headers:
		return headersMatcher(values(bindings))
	default:
		return newDirectMatcher(bindings)
	}
}

func values(m map[string]topology.Binding) []topology.Binding {
	out := make([]topology.Binding, 0, len(m))
	for _, b := range m {
		out = append(out, b)
	}
	return out
}

// directMatcher routes on exact routing-key equality.
type directMatcher map[string][]topology.Binding

func newDirectMatcher(bindings map[string]topology.Binding) directMatcher {
	m := directMatcher{}
	for _, b := range bindings {
		m[b.Key] = append(m[b.Key], b)
	}
	return m
}

func (m directMatcher) match(keys []string, _ amqp.Table, fn func(topology.Binding)) {
	for _, k := range keys {
		for _, b := range m[k] {
			fn(b)
		}
	}
}

// fanoutMatcher routes to every binding.
type fanoutMatcher []topology.Binding

func (m fanoutMatcher) match(_ []string, _ amqp.Table, fn func(topology.Binding)) {
	for _, b := range m {
		fn(b)
	}
}

// topicMatcher matches dot-separated words: '*' one word, '#' zero or more.
type topicMatcher []topicBinding

type topicBinding struct {
	words []string
	b     topology.Binding
}

func newTopicMatcher(bindings map[string]topology.Binding) topicMatcher {
	m := make(topicMatcher, 0, len(bindings))
	for _, b := range bindings {
		m = append(m, topicBinding{words: topicWords(b.Key), b: b})
	}
	return m
}

func (m topicMatcher) match(keys []string, _ amqp.Table, fn func(topology.Binding)) {
	split := make([][]string, len(keys))
	for i, k := range keys {
		split[i] = topicWords(k)
	}
	for _, tb := range m {
		for _, words := range split {
			if topicMatch(tb.words, words) {
				fn(tb.b)
				break
			}
		}
	}
}

// topicWords splits a key into words; the empty key has none, as in
// rabbit_exchange_type_topic:split_topic_key/1.
func topicWords(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// topicMatch matches a binding pattern against a routing key's words. '#'
// backtracks; the recursion depth is bounded by the pattern length.
func topicMatch(pattern, words []string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case "#":
			if len(pattern) == 1 {
				return true
			}
			for i := 0; i <= len(words); i++ {
				if topicMatch(pattern[1:], words[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(words) == 0 {
				return false
			}
		default:
			if len(words) == 0 || words[0] != pattern[0] {
				return false
			}
		}
		pattern, words = pattern[1:], words[1:]
	}
	return len(words) == 0
}

// headersMatcher compares binding arguments with message headers (x-match).
type headersMatcher []topology.Binding

func (m headersMatcher) match(_ []string, headers amqp.Table, fn func(topology.Binding)) {
	for _, b := range m {
		if headersMatch(b.Args, headers) {
			fn(b)
		}
	}
}

// headersMatch follows rabbit_exchange_type_headers: x-match all (default),
// any, all-with-x, any-with-x; keys starting "x-" are ignored unless "-with-x";
// a void binding value matches any value of a present header.
func headersMatch(args, headers amqp.Table) bool {
	mode, _ := args["x-match"].(string)
	any := mode == "any" || mode == "any-with-x"
	withX := strings.HasSuffix(mode, "-with-x")
	for k, want := range args {
		if k == "x-match" || (!withX && strings.HasPrefix(k, "x-")) {
			continue
		}
		have, ok := headers[k]
		matched := ok && (want == nil || sameHeaderValue(want, have))
		if any && matched {
			return true
		}
		if !any && !matched {
			return false
		}
	}
	// all: every considered key matched (vacuously true with none);
	// any: no key matched.
	return !any
}

func sameHeaderValue(a, b any) bool {
	ai, aInt := topology.AsInt(a)
	bi, bInt := topology.AsInt(b)
	if aInt && bInt {
		return ai == bi
	}
	switch a.(type) {
	case string, bool, float32, float64:
		return a == b
	}
	return false
}
