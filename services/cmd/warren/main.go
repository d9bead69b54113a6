// Command warren runs Warren: `warren serve` for the whole broker in one
// process, `warren perf` for the load generator.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/warrenmq/warren/api/registry"
	"github.com/warrenmq/warren/services/controlplane"
	"github.com/warrenmq/warren/services/embedded"
	"github.com/warrenmq/warren/services/gatewayd"
	"github.com/warrenmq/warren/services/perf"
	"github.com/warrenmq/warren/services/storagenode"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "storage-node":
		return storageNode(args[1:], stderr)
	case "control-plane":
		return controlPlane(args[1:], stderr)
	case "gateway":
		return gatewayCmd(args[1:], stderr)
	case "perf":
		return perf.Main(args[1:], stdout, stderr)
	case "instances", "vhosts", "users", "permissions", "queues", "exchanges", "definitions":
		return cliCommand(args[0], args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "warren: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: warren <command> [flags]

commands:
  serve          run the whole broker in one process (embedded NATS, control plane with the provisioning API, storage node, gateway)
  control-plane  run the control plane of the split deployment (NATS, topology over gRPC, placement, provisioning API)
  storage-node   run a storage node of the split deployment (gRPC service, registered in NATS)
  gateway        run an AMQP gateway of the split deployment (stateless; finds the rest through NATS)
  perf           run the load generator against an AMQP broker
  instances, vhosts, users, queues, exchanges  create|list|delete through the provisioning API
  permissions    set|list|delete through the provisioning API
  definitions    export, or import FILE, through the provisioning API
                 (API flags: --api URL, --token or --token-file, --instance, --output table|json)
  version        print the version
`)
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := embedded.Options{Version: version}
	fs.StringVar(&o.DataDir, "data-dir", "./data", "folder for all persistent state")
	fs.StringVar(&o.AMQPAddr, "amqp-addr", ":5672", "AMQP 0-9-1 listen address")
	fs.StringVar(&o.HTTPAddr, "http-addr", ":15672", "HTTP listen address (provisioning API, /metrics, /healthz)")
	fs.DurationVar(&o.ConsumerTimeout, "consumer-timeout", 30*time.Minute, "close a channel whose delivery stays unacked this long")
	fs.IntVar(&o.MaxMessageSize, "max-message-size", 16<<20, "largest message body accepted, in bytes")
	alarms := alarmFlags(fs)
	tiers := tierFlags(fs)
	fs.BoolVar(&o.Pprof, "pprof", false, "serve Go's profiler under /debug/pprof on the HTTP port")
	tlsFlags(fs, &o.AMQPSAddr, &o.TLSCert, &o.TLSKey, &o.TLSDomain)
	adminToken := apiFlags(fs, &o.AMQPEndpoint, "")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.MemoryHighWatermark, o.DiskFreeLimit = alarms()
	o.Tier = tiers()
	o.AdminToken = adminToken()
	return runUntilSignal(*level, stderr, "warren serve", func(ctx context.Context, log *slog.Logger) error {
		o.Log = log
		return embedded.Run(ctx, o)
	})
}

// totalMemory is the machine's RAM in bytes from /proc/meminfo, or 0 when
// unknown (which disables the memory alarm).
func totalMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb uint64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return 0
}

func storageNode(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("storage-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o storagenode.Options
	fs.StringVar(&o.DataDir, "data-dir", "./data", "folder for the node's Pebble store")
	fs.StringVar(&o.GRPCAddr, "grpc-addr", ":7001", "storage gRPC listen address")
	fs.StringVar(&o.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server holding the topology and the registry")
	fs.StringVar(&o.Name, "name", "", "name in the registry (default: the gRPC listen address)")
	fs.StringVar(&o.HTTPAddr, "http-addr", "", "HTTP listen address (/metrics, /healthz); empty serves none")
	fs.BoolVar(&o.Pprof, "pprof", false, "serve Go's profiler under /debug/pprof on the HTTP port")
	alarms := alarmFlags(fs)
	tiers := tierFlags(fs)
	gatewayTimeoutFlag(fs, &o.GatewayTimeout, "end the sessions of a gateway whose connection is silent this long, requeueing their unacked messages")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil || !checkGatewayTimeout(o.GatewayTimeout, stderr) {
		return 2
	}
	o.MemoryHighWatermark, o.DiskFreeLimit = alarms()
	o.Tier = tiers()
	return runUntilSignal(*level, stderr, "warren storage-node", func(ctx context.Context, log *slog.Logger) error {
		o.Log = log
		return storagenode.Run(ctx, o)
	})
}

// runUntilSignal runs a service until SIGINT or SIGTERM, with the text
// logger every subcommand uses; it returns the process exit code.
func runUntilSignal(level string, stderr io.Writer, name string, run func(context.Context, *slog.Logger) error) int {
	log, ok := newLogger(level, stderr)
	if !ok {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error(name+" failed", "err", err)
		return 1
	}
	return 0
}

// newLogger makes the text logger every subcommand uses.
func newLogger(level string, w io.Writer) (*slog.Logger, bool) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		fmt.Fprintf(w, "warren: bad --log-level: %v\n", err)
		return nil, false
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})), true
}

func controlPlane(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("control-plane", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o controlplane.Options
	fs.StringVar(&o.DataDir, "data-dir", "./data", "folder for the embedded NATS server's JetStream state")
	fs.StringVar(&o.HTTPAddr, "http-addr", ":15672", "HTTP listen address (provisioning API, /healthz)")
	fs.StringVar(&o.GRPCAddr, "grpc-addr", ":7000", "topology gRPC listen address")
	fs.StringVar(&o.NATSAddr, "nats-addr", ":4222", "listen address of the embedded NATS server")
	fs.StringVar(&o.NATSURL, "nats-url", "", "use this external NATS cluster instead of the embedded server")
	gatewayTimeoutFlag(fs, &o.GatewayTimeout, "delete the exclusive queues of a gateway that stopped heartbeating within this long")
	adminToken := apiFlags(fs, &o.AMQPEndpoint, "amqp://localhost:5672")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil || !checkGatewayTimeout(o.GatewayTimeout, stderr) {
		return 2
	}
	o.AdminToken = adminToken()
	return runUntilSignal(*level, stderr, "warren control-plane", func(ctx context.Context, log *slog.Logger) error {
		o.Log = log
		return controlplane.Run(ctx, o)
	})
}

func gatewayCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := gatewayd.Options{Version: version}
	fs.StringVar(&o.AMQPAddr, "amqp-addr", ":5672", "AMQP 0-9-1 listen address")
	fs.StringVar(&o.HTTPAddr, "http-addr", ":15673", "HTTP listen address (/metrics, /healthz)")
	fs.StringVar(&o.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server holding the topology and the registry")
	fs.DurationVar(&o.ConsumerTimeout, "consumer-timeout", 30*time.Minute, "close a channel whose delivery stays unacked this long")
	fs.BoolVar(&o.Pprof, "pprof", false, "serve Go's profiler under /debug/pprof on the HTTP port")
	gatewayTimeoutFlag(fs, &o.GatewayTimeout, "heartbeat to the registry often enough to be counted dead within this long once stopped")
	tlsFlags(fs, &o.AMQPSAddr, &o.TLSCert, &o.TLSKey, &o.TLSDomain)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil || !checkGatewayTimeout(o.GatewayTimeout, stderr) {
		return 2
	}
	return runUntilSignal(*level, stderr, "warren gateway", func(ctx context.Context, log *slog.Logger) error {
		o.Log = log
		return gatewayd.Run(ctx, o)
	})
}

// tlsFlags registers AMQP over TLS: the listener, its certificate and key,
// and the domain under which "<instance>.<domain>" names an instance.
func tlsFlags(fs *flag.FlagSet, addr, cert, key, domain *string) {
	fs.StringVar(addr, "amqps-addr", "", "AMQP over TLS listen address (off when empty; needs --tls-cert and --tls-key)")
	fs.StringVar(cert, "tls-cert", "", "PEM certificate (chain) for --amqps-addr")
	fs.StringVar(key, "tls-key", "", "PEM private key for --amqps-addr")
	fs.StringVar(domain, "tls-domain", "", "a TLS client asking for host <instance>.<domain> logs in to that instance")
}

// gatewayTimeoutFlag registers --gateway-timeout: the bound on how long the
// cluster takes to act on a gateway that died without closing. Every
// process of the split deployment derives its share of it
// (registry.ForGatewayTimeout); give them all the same value.
func gatewayTimeoutFlag(fs *flag.FlagSet, d *time.Duration, usage string) {
	fs.DurationVar(d, "gateway-timeout", registry.DefaultGatewayTimeout, usage+"; the same on every process")
}

// checkGatewayTimeout reports whether d is a usable gateway timeout, saying
// why not on w.
func checkGatewayTimeout(d time.Duration, w io.Writer) bool {
	if _, err := registry.ForGatewayTimeout(d); err != nil || d == 0 {
		fmt.Fprintf(w, "warren: bad --gateway-timeout %v: at least %v\n", d, registry.MinGatewayTimeout)
		return false
	}
	return true
}
