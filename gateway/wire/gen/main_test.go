package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesUpToDate fails when a committed generated file differs
// from what the generator writes for the committed spec: run
// `go generate ./wire` in gateway/ after changing the generator or spec.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := generate("../spec/amqp0-9-1.stripped.extended.xml")
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{"wire": "..", "amqp": "../../../api/amqp"}
	for _, f := range files {
		path := filepath.Join(dirs[f.pkg], f.name)
		committed, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(committed, f.src) {
			t.Errorf("%s is stale: run `go generate ./wire` in gateway/", path)
		}
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"routing-key": "RoutingKey", "message-id": "MessageID", "reserved-1": "Reserved1",
		"update-secret-ok": "UpdateSecretOk", "nowait": "Nowait", "id": "ID",
	} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
}
