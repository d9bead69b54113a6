package perf

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Bounds on the command line. A run outside them is refused with a usage
// error (exit code 2) before any connection is made.
const (
	// maxClients bounds producers and consumers (one AMQP connection each).
	maxClients = 1000
	// maxQueues bounds --queues.
	maxQueues = 10000
	// maxBodySize bounds --size; RabbitMQ refuses bodies over 128 MiB by default.
	maxBodySize = 64 << 20
	// maxPrefetch is the largest basic.qos prefetch-count (a 16-bit field).
	maxPrefetch = 1<<16 - 1
	// maxConfirmWindow bounds --confirm; it sizes a buffered channel per producer.
	maxConfirmWindow = 1 << 20
)

// Config is one run's settings, parsed from the command line.
type Config struct {
	URI               string
	Producers         int
	Consumers         int
	Queues            int
	QueuePrefix       string
	Size              int           // body bytes, >= bodyHeaderLen
	Persistent        bool          // delivery-mode 2 and durable queues
	Confirm           int           // most unconfirmed publishes per producer; 0: no confirms
	Prefetch          int           // basic.qos per consumer; 0: unlimited
	AutoAck           bool          // no-ack consumers
	MultiAckEvery     int           // manual ack: ack multiple=true every N messages
	Rate              float64       // total publish rate, msg/s; 0: unlimited
	Duration          time.Duration // run length; unused in backlog mode
	Backlog           int64         // > 0: backlog mode with this many messages
	Predeclared       bool          // queues exist; do not declare them
	DeleteQueuesAfter bool          // purge and delete the queues at the end
	JSONOnly          bool          // no progress lines on stderr
	CoalesceWrites    bool          // gather the client library's writes into fewer syscalls
}

// parseFlags parses the command line; usage and errors are written to
// output. It returns flag.ErrHelp for -h.
func parseFlags(args []string, output io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("warren perf", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&c.URI, "uri", "amqp://guest:guest@127.0.0.1:5672/", "broker `URI`")
	fs.IntVar(&c.Producers, "producers", 1, "number of producers, one connection each")
	fs.IntVar(&c.Consumers, "consumers", 1, "number of consumers, one connection each")
	fs.IntVar(&c.Queues, "queues", 1, "number of queues <prefix>-0..N-1; producers and consumers go round-robin")
	fs.StringVar(&c.QueuePrefix, "queue-prefix", "perf", "queue name prefix")
	fs.IntVar(&c.Size, "size", bodyHeaderLen, "message body `bytes` (at least 16: send time and sequence)")
	fs.BoolVar(&c.Persistent, "persistent", false, "publish with delivery-mode 2 and declare durable queues")
	fs.IntVar(&c.Confirm, "confirm", 0, "publisher confirms with at most `N` unconfirmed per producer (0: off)")
	fs.IntVar(&c.Prefetch, "prefetch", 0, "basic.qos prefetch count per consumer (0: unlimited)")
	fs.BoolVar(&c.AutoAck, "auto-ack", false, "consume with no-ack (default: manual ack)")
	fs.IntVar(&c.MultiAckEvery, "multi-ack-every", 1, "manual ack: ack with multiple=true every `N` messages")
	fs.Float64Var(&c.Rate, "rate", 0, "total publish rate in msg/s across producers (0: unlimited)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "run length (ignored with --backlog)")
	fs.Int64Var(&c.Backlog, "backlog", 0, "backlog mode: publish `N` messages with no consumer, then drain them")
	fs.BoolVar(&c.Predeclared, "predeclared", false, "queues already exist: do not declare them (they are still purged)")
	fs.BoolVar(&c.DeleteQueuesAfter, "delete-queues-after", true, "purge and delete the queues at the end")
	fs.BoolVar(&c.JSONOnly, "json-only", false, "no progress lines; only the JSON result")
	fs.BoolVar(&c.CoalesceWrites, "coalesce-writes", true, "gather each connection's writes into fewer syscalls, so one producer is not capped by a syscall per publish (same for every broker)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	err := c.validate()
	if fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(output, "warren perf: %v\n", err)
	}
	return c, err
}

// validate checks the settings against each other and the bounds above.
func (c *Config) validate() error {
	checks := []struct {
		bad bool
		msg string
	}{
		{c.Producers < 0 || c.Producers > maxClients, fmt.Sprintf("--producers must be in [0, %d]", maxClients)},
		{c.Consumers < 0 || c.Consumers > maxClients, fmt.Sprintf("--consumers must be in [0, %d]", maxClients)},
		{c.Producers+c.Consumers == 0, "need at least one producer or consumer"},
		{c.Queues < 1 || c.Queues > maxQueues, fmt.Sprintf("--queues must be in [1, %d]", maxQueues)},
		{c.QueuePrefix == "", "--queue-prefix must not be empty"},
		{c.Size < bodyHeaderLen || c.Size > maxBodySize, fmt.Sprintf("--size must be in [%d, %d]", bodyHeaderLen, maxBodySize)},
		{c.Confirm < 0 || c.Confirm > maxConfirmWindow, fmt.Sprintf("--confirm must be in [0, %d]", maxConfirmWindow)},
		{c.Prefetch < 0 || c.Prefetch > maxPrefetch, fmt.Sprintf("--prefetch must be in [0, %d]", maxPrefetch)},
		{c.MultiAckEvery < 1, "--multi-ack-every must be at least 1"},
		// The broker stops delivering at prefetch unacked messages; if we
		// only ack every N > prefetch, neither side moves again.
		{!c.AutoAck && c.Prefetch > 0 && c.MultiAckEvery > c.Prefetch, "--multi-ack-every must not exceed --prefetch (the consumer would stall)"},
		{c.Rate < 0, "--rate must not be negative"},
		{c.Backlog < 0, "--backlog must not be negative"},
		{c.Backlog == 0 && c.Duration <= 0, "--duration must be positive"},
		{c.Backlog > 0 && (c.Producers == 0 || c.Consumers == 0), "--backlog needs producers and consumers"},
		// Only a confirm says the broker holds the message, so only
		// confirms tell when the backlog is complete.
		{c.Backlog > 0 && c.Confirm == 0, "--backlog needs --confirm"},
		{c.Backlog > 0 && c.Backlog/int64(max(c.Producers, 1)) >= seqMask, "--backlog too large"},
	}
	for _, ch := range checks {
		if ch.bad {
			return errors.New(ch.msg)
		}
	}
	return nil
}

// queueName returns the name of queue i.
func (c *Config) queueName(i int) string {
	return fmt.Sprintf("%s-%d", c.QueuePrefix, i)
}
