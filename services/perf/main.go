package perf

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of Main.
const (
	exitOK          = 0
	exitFailed      = 1   // the run failed; the JSON line carries "error"
	exitUsage       = 2   // bad flags; nothing was run
	exitInterrupted = 130 // SIGINT/SIGTERM ended the run; the JSON line holds what was measured
)

// Main runs the load generator with command-line args (without the program/subcommand name),
// writes a progress line each second to stderr and one JSON result line to stdout; returns the exit code.
//
// The JSON line (see Result for its fields) is written for every run that
// got past flag parsing, failed or not. Exit codes: 0 success, 1 failure
// (the reason is on stderr and in "error"), 2 bad flags, 130 interrupted.
// Queues are declared and purged before the run and, by default, deleted
// after it, also after a failure.
func Main(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var progress io.Writer = stderr
	if cfg.JSONOnly {
		progress = nil
	}
	res, err := execute(ctx, cfg, progress, stderr)
	if err != nil {
		res.Error = ptr(err.Error())
	}
	line, merr := json.Marshal(res)
	if merr != nil { // Result holds only numbers, strings and bools.
		panic(merr)
	}
	if _, werr := stdout.Write(append(line, '\n')); werr != nil && err == nil {
		err = fmt.Errorf("write result: %w", werr)
	}
	switch {
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "warren perf: interrupted")
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(stderr, "warren perf: %v\n", err)
		return exitFailed
	}
	return exitOK
}
