// Package perf is `warren perf`, a PerfTest-style AMQP 0-9-1 load
// generator for Warren and RabbitMQ alike.
//
// A run connects one AMQP connection per producer and per consumer (plus
// one for setup), declares queues <prefix>-0..N-1 (durable iff
// --persistent) and purges them, spreads producers and consumers over the
// queues round-robin, and then either
//
//   - runs for --duration with producers and consumers together (timed
//     mode), or
//   - with --backlog N, publishes N messages with no consumer running,
//     waits for the last confirm, then starts the consumers and drains the
//     queues (backlog mode), reporting publish and drain rates separately.
//
// It writes a progress line to stderr every second and one JSON object
// (Result) to stdout at the end; Main is the entry point.
//
// # Measurement
//
// Each body carries its send time and a (producer, sequence) pair (see
// body.go). Consumers run in the same process, so receive − send is the
// end-to-end latency on one clock; it goes into a fixed-size log-linear
// Histogram owned by each consumer, merged for reports. A shared bitmap
// (seenSet) tells first deliveries from duplicates and from messages this
// run never published.
//
// # Goroutines
//
// The goroutine in execute coordinates. Each producer goroutine owns its
// body buffer and pacer; with confirms, a goroutine per producer counts
// confirmations and frees slots of its window. Each consumer goroutine
// owns its ack bookkeeping and histogram. Counters are atomics, written by
// their owner and read by the progress reporter and the coordinator; no
// lock is held on any message path. Failures from any goroutine go
// through run.fail, which records the first (preferring one that carries
// an AMQP reply code) and aborts the run.
package perf
