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
	Type   string // "gauge" or "counter"
	Labels map[string]string
	Value  float64
}

// Handler serves the samples gather returns, on every request.
func Handler(gather func() []Sample) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(Render(gather())))
	})
}

// Render formats samples; HELP and TYPE appear once per metric name.
func Render(samples []Sample) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, s := range samples {
		if !seen[s.Name] {
			seen[s.Name] = true
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", s.Name, s.Help, s.Name, s.Type)
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
