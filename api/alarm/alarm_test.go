package alarm

import (
	"strings"
	"testing"
)

func TestReason(t *testing.T) {
	tests := []struct {
		st   State
		want string
	}{
		{State{}, ""},
		{State{Memory: true}, "low on memory"},
		{State{Disk: true}, "low on disk"},
		{State{Memory: true, Disk: true}, "low on disk & memory"}, // RabbitMQ 4.3.2's text
	}
	for _, tc := range tests {
		if got := tc.st.Reason(); got != tc.want {
			t.Errorf("%+v: reason %q, want %q", tc.st, got, tc.want)
		}
	}
	if got := (State{Memory: true}).Or(State{Disk: true}); got != (State{Memory: true, Disk: true}) {
		t.Errorf("Or = %+v", got)
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m := Message{Node: "10.0.0.5:7001", Status: Status{State: State{Disk: true}, Version: 1 << 62}}
	got, err := Decode(m.Encode())
	if err != nil || got != m {
		t.Fatalf("Decode(Encode(%+v)) = %+v, %v", m, got, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, in := range []string{
		``, `{`, `[]`, `{"node":""}`, `{"memory":true}`, `{"node":1}`,
		`{"node":"` + strings.Repeat("x", maxNodeName+1) + `"}`,
	} {
		if m, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%.40q) = %+v, want an error", in, m)
		}
	}
}

// A node name becomes one subject token, whatever it holds.
func TestSubject(t *testing.T) {
	for _, name := range []string{"sn1", "10.0.0.5:7001", "a.b *>", "ü"} {
		s := Subject(name)
		tok, ok := strings.CutPrefix(s, SubjectPrefix)
		if !ok || tok == "" || strings.ContainsAny(tok, ". *>\t") {
			t.Errorf("Subject(%q) = %q: not one token under %s", name, s, SubjectPrefix)
		}
	}
	if Subject("a") == Subject("b") {
		t.Error("two nodes share a subject")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Message{Node: "sn1", Status: Status{State: State{Memory: true}, Version: 3}}.Encode())
	f.Add([]byte(`{"node":"x","version":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if m.Node == "" || len(m.Node) > maxNodeName {
			t.Fatalf("accepted node name of %d bytes", len(m.Node))
		}
		again, err := Decode(m.Encode())
		if err != nil || again != m {
			t.Fatalf("re-encoding %+v gives %+v, %v", m, again, err)
		}
	})
}
