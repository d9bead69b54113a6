package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

const (
	// stopTimeout bounds how long producers may take, once told to stop,
	// to finish a publish and collect their outstanding confirms.
	stopTimeout = 30 * time.Second
	// drainGrace bounds how long consumers keep consuming after the
	// window, to pick up what was still in flight.
	drainGrace = 2 * time.Second
	// stallTimeout fails a backlog phase that makes no progress this long.
	stallTimeout = 30 * time.Second
	// pollInterval is how often phases check their counters.
	pollInterval = 5 * time.Millisecond
)

// errInterrupted is returned when a signal ended the run early.
var errInterrupted = errors.New("interrupted")

// run is one execution. The coordinating goroutine (execute) owns
// everything but mu; producers, consumers and listeners report failures
// through fail.
type run struct {
	cfg      Config
	progress io.Writer // progress lines; nil with --json-only
	stderr   io.Writer // warnings, always
	since    int64     // unix ns at the start; older bodies are not ours
	seen     *seenSet

	admin     *client
	producers []*producer
	consumers []*consumer
	workers   sync.WaitGroup // producer goroutines
	readers   sync.WaitGroup // consumer goroutines
	// producersDone is closed when every producer goroutine has returned.
	producersDone chan struct{}

	stop         chan struct{} // closed: producers stop publishing
	abort        chan struct{} // closed: failure or interrupt, give up waiting
	consumerStop chan struct{} // closed: consumers ack what they hold and return

	stopOnce, abortOnce, consumerStopOnce sync.Once

	mu struct {
		sync.Mutex
		err     error // the first failure, or a later one carrying an AMQP code
		closing bool  // teardown began: errors from here on are our own doing
	}
}

func newRun(cfg Config, progress, stderr io.Writer) *run {
	return &run{
		cfg:           cfg,
		progress:      progress,
		stderr:        stderr,
		since:         unixNanos(),
		seen:          newSeenSet(cfg.Producers),
		stop:          make(chan struct{}),
		abort:         make(chan struct{}),
		consumerStop:  make(chan struct{}),
		producersDone: make(chan struct{}),
	}
}

// execute performs a run; the Result is filled as far as the run got.
func execute(ctx context.Context, cfg Config, progress, stderr io.Writer) (Result, error) {
	r := newRun(cfg, progress, stderr)
	res := newResult(&cfg)
	r.describe()
	if err := r.setup(); err != nil {
		r.teardown()
		return res, err
	}
	go func() {
		select {
		case <-ctx.Done():
			r.halt()
		case <-r.abort:
		}
	}()
	if cfg.Backlog > 0 {
		r.backlog(&res)
	} else {
		r.timed(&res)
	}
	r.teardown()
	res.setCounts(r.totals(), r.latency())
	if err := r.err(); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return res, errInterrupted
	}
	return res, nil
}

// fail records a failure and aborts the run. A failure with an AMQP reply
// code replaces an earlier one without (a publish that saw "channel
// closed" before the close reason arrived).
func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closing {
		return
	}
	var ce *closedError
	if r.mu.err == nil || (errors.As(err, &ce) && !errors.As(r.mu.err, &ce)) {
		r.mu.err = err
	}
	r.halt()
}

func (r *run) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.err
}

// halt stops the producers and aborts every wait.
func (r *run) halt() {
	r.stopOnce.Do(func() { close(r.stop) })
	r.abortOnce.Do(func() { close(r.abort) })
}

// setup connects every client and prepares the queues. Clients are
// recorded as they connect, so teardown closes them whatever failed.
func (r *run) setup() error {
	var err error
	if r.admin, err = dial(r.cfg.URI, "setup", false); err != nil {
		return err
	}
	if err := r.prepareQueues(); err != nil {
		return err
	}
	for i := range r.cfg.Producers {
		p, err := newProducer(i, &r.cfg, r.fail)
		if err != nil {
			return err
		}
		r.producers = append(r.producers, p)
	}
	for i := range r.cfg.Consumers {
		c, err := newConsumer(i, &r.cfg, r.seen, r.since, r.fail)
		if err != nil {
			return err
		}
		r.consumers = append(r.consumers, c)
	}
	return nil
}

// prepareQueues declares (unless --predeclared) and purges every queue.
func (r *run) prepareQueues() error {
	for i := range r.cfg.Queues {
		q := r.cfg.queueName(i)
		if !r.cfg.Predeclared {
			if _, err := r.admin.ch.QueueDeclare(q, r.cfg.Persistent, false, false, false, nil); err != nil {
				return fmt.Errorf("declare queue %s: %w", q, describe(err))
			}
		}
		if _, err := r.admin.ch.QueuePurge(q, false); err != nil {
			return fmt.Errorf("purge queue %s: %w", q, describe(err))
		}
	}
	return nil
}

// startProducers starts every producer; producer i publishes quota(i).
// It is called once per run.
func (r *run) startProducers(quota func(i int) uint64, stop <-chan struct{}) {
	for i, p := range r.producers {
		r.workers.Go(func() {
			if err := p.run(quota(i), stop, r.abort); err != nil {
				r.fail(err)
			}
		})
	}
	go func() {
		r.workers.Wait()
		close(r.producersDone)
	}()
}

// startConsumers subscribes every consumer and starts its goroutine.
func (r *run) startConsumers() error {
	for _, c := range r.consumers {
		deliveries, err := c.subscribe()
		if err != nil {
			return err
		}
		r.readers.Go(func() {
			if err := c.run(deliveries, r.consumerStop); err != nil {
				r.fail(err)
			}
		})
	}
	return nil
}

// teardown stops every goroutine, closes every client, then deletes the
// queues if asked. Failures from here on are not the run's.
func (r *run) teardown() {
	r.mu.Lock()
	r.mu.closing = true
	r.mu.Unlock()
	r.halt()
	r.consumerStopOnce.Do(func() { close(r.consumerStop) })
	// Each consumer acks what it holds; one stuck on a dead socket is
	// released when its connection closes below.
	waitGroup(&r.readers, closeTimeout)
	var closing sync.WaitGroup
	for _, p := range r.producers {
		closing.Go(p.cl.close)
	}
	for _, c := range r.consumers {
		closing.Go(c.cl.close)
	}
	closing.Wait()
	r.readers.Wait()
	r.workers.Wait() // a publish blocked on a dead socket has failed by now
	if r.admin == nil {
		return
	}
	if r.cfg.DeleteQueuesAfter {
		r.deleteQueues()
	}
	r.admin.close()
}

// deleteQueues purges and deletes every queue; a failure is reported on
// stderr (even with --json-only) and does not fail the run.
func (r *run) deleteQueues() {
	for i := range r.cfg.Queues {
		q := r.cfg.queueName(i)
		if _, err := r.admin.ch.QueuePurge(q, false); err != nil {
			fmt.Fprintf(r.stderr, "warren perf: cleanup: purge queue %s: %v\n", q, describe(err))
			return
		}
		if _, err := r.admin.ch.QueueDelete(q, false, false, false); err != nil {
			fmt.Fprintf(r.stderr, "warren perf: cleanup: delete queue %s: %v\n", q, describe(err))
			return
		}
	}
}

// note writes a line to the progress stream, if there is one.
func (r *run) note(format string, args ...any) {
	if r.progress != nil {
		fmt.Fprintf(r.progress, format+"\n", args...)
	}
}

// describe writes a one-line summary of the settings.
func (r *run) describe() {
	c := &r.cfg
	mode := "transient"
	if c.Persistent {
		mode = "persistent"
	}
	r.note("warren perf: %s, %d producers, %d consumers, %d queues, %d B %s, confirm %d, prefetch %d, auto-ack %v, rate %g msg/s",
		schemeHost(c.URI), c.Producers, c.Consumers, c.Queues, c.Size, mode, c.Confirm, c.Prefetch, c.AutoAck, c.Rate)
}

// sleep waits d or until abort closes; false if aborted.
func (r *run) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.abort:
		return false
	}
}

// waitGroup waits for wg up to timeout; false on timeout.
func waitGroup(wg *sync.WaitGroup, timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
