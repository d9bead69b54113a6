package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
)

// Both processes that hold a storage node take the same alarm thresholds.
func TestAlarmFlagsOnServeAndStorageNode(t *testing.T) {
	for _, cmd := range []string{"serve", "storage-node"} {
		var help bytes.Buffer
		run([]string{cmd, "-h"}, &bytes.Buffer{}, &help)
		for _, want := range []string{"-memory-high-watermark float", "(default 0.6)", "-disk-free-limit int", "(default 50000000)"} {
			if !strings.Contains(help.String(), want) {
				t.Errorf("%s -h lacks %q:\n%s", cmd, want, help.String())
			}
		}
	}
}

func TestAlarmFlagsToBytes(t *testing.T) {
	ram := int64(totalMemory())
	tests := []struct {
		args         []string
		memory, disk int64
	}{
		{nil, int64(0.6 * float64(ram)), 50_000_000},
		{[]string{"--memory-high-watermark", "0", "--disk-free-limit", "-1"}, 0, -1},
		{[]string{"--memory-high-watermark", "0.5", "--disk-free-limit", "1000000000000000000"}, ram / 2, 1e18},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		thresholds := alarmFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if memory, disk := thresholds(); memory != tc.memory || disk != tc.disk {
			t.Errorf("%q: memory %d disk %d, want %d %d", tc.args, memory, disk, tc.memory, tc.disk)
		}
	}
}
