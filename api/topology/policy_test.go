package topology

import "testing"

func TestCheckPolicy(t *testing.T) {
	ok := map[string]any{"message-ttl": float64(60000), "dead-letter-exchange": "dlx"}
	tests := []struct {
		name string
		p    Policy
		good bool
	}{
		{"valid", Policy{Name: "ttl", Pattern: "^q\\.", ApplyTo: "queues", Definition: ok}, true},
		{"apply-to defaults", Policy{Name: "ttl", Pattern: ".*", Definition: ok}, true},
		{"integer types", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"max-length": int64(5), "expires": int32(1)}}, true},
		{"no name", Policy{Pattern: ".*", Definition: ok}, false},
		{"bad pattern", Policy{Name: "x", Pattern: "(", Definition: ok}, false},
		{"look-ahead", Policy{Name: "x", Pattern: "(?=a)", Definition: ok}, false},
		{"apply-to unknown", Policy{Name: "x", Pattern: ".*", ApplyTo: "streams", Definition: ok}, false},
		{"empty definition", Policy{Name: "x", Pattern: ".*"}, false},
		{"unknown key", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"ha-mode": "all"}}, false},
		{"ttl as string", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"message-ttl": "5"}}, false},
		{"fractional ttl", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"message-ttl": 1.5}}, false},
		{"negative max-length", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"max-length": float64(-1)}}, false},
		{"zero expires", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"expires": float64(0)}}, false},
		{"new keys", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"max-length-bytes": float64(10),
			"overflow": "reject-publish", "dead-letter-routing-key": "rk"}}, true},
		{"unknown overflow", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"overflow": "drop-tail"}}, false},
		{"dlx not a string", Policy{Name: "x", Pattern: ".*", Definition: map[string]any{"dead-letter-exchange": true}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPolicy(tc.p)
			if (err == nil) != tc.good {
				t.Fatalf("CheckPolicy = %v, want ok=%v", err, tc.good)
			}
		})
	}
}
