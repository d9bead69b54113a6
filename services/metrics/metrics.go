// Package metrics serves values in the Prometheus text exposition format.
// Hand-written: the format is a few lines, and a client library would be a
// large dependency for it.
package metrics

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Sample is one metric value; Labels are rendered in key order.
type Sample struct {
	Name   string
	Help   string
	Type   string // "gauge", "counter", or "summary" for a Name ending in _sum or _count
	Labels map[string]string
	Value  float64
}

// family is the name HELP and TYPE describe: a summary's _sum and _count
// belong to their base name.
func (s *Sample) family() string {
	if s.Type != "summary" {
		return s.Name
	}
	if f, ok := strings.CutSuffix(s.Name, "_sum"); ok {
		return f
	}
	return strings.TrimSuffix(s.Name, "_count")
}

// Handler serves the samples gather returns, on every request.
func Handler(gather func() []Sample) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(Render(gather())))
	})
}

// Render formats samples; HELP and TYPE appear once per metric family
// (the name, or a summary's base name).
func Render(samples []Sample) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, s := range samples {
		if f := s.family(); !seen[f] {
			seen[f] = true
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f, s.Help, f, s.Type)
		}
		fmt.Fprintf(&b, "%s%s %g\n", s.Name, labels(s.Labels), s.Value)
	}
	return b.String()
}

// labelEscaper escapes a label value as the exposition format requires.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func labels(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + labelEscaper.Replace(l[k]) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Connections is the open-AMQP-connections gauge every gateway reports.
func Connections(n int) Sample {
	return Sample{Name: "warren_connections", Help: "Open AMQP connections.", Type: "gauge", Value: float64(n)}
}
