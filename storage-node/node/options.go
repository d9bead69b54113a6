package node

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/warrenmq/warren/api/storage"
	"github.com/warrenmq/warren/storage-node/objstore"
	"github.com/warrenmq/warren/storage-node/queue"
	"github.com/warrenmq/warren/storage-node/tier"
)

// Options configure a Node. Zero values take the defaults below.
type Options struct {
	// Events receives QueueUnused (auto-delete, x-expires); nil drops them.
	Events storage.Events
	// DeadLetterer routes dead letters; nil means dead letters are dropped
	// (and nothing is written to the outbox).
	DeadLetterer storage.DeadLetterer

	// Shards is the number of goroutines that own queues (queue ID modulo
	// Shards). Default GOMAXPROCS, at most 64.
	Shards int
	// CacheBytes bounds the ready messages the node keeps in memory across
	// all queues (read-ahead and tail cache); beyond it a backlog stays on
	// disk. Default 64 MiB.
	CacheBytes int64
	// QueueCacheBytes bounds one queue's share. Default 8 MiB.
	QueueCacheBytes int64
	// QueueMinCacheBytes is what a queue may cache even when CacheBytes is
	// spent, so a queue whose consumers keep up never goes through disk.
	// Default 256 KiB.
	QueueMinCacheBytes int64
	// DeliveredChunk: see queue.Config. Default 4096.
	DeliveredChunk uint64
	// UnlimitedWindow is the credit window of consumers that ask for
	// unlimited credit (ConsumerSpec.Credit 0): the node grants it back as
	// the Sink accepts deliveries, so a slow sink never lets deliveries pile
	// up without bound. Default 2048.
	UnlimitedWindow uint32
	// InboxSize bounds each shard's command queue; callers block when it
	// is full. Default 4096.
	InboxSize int

	// MemoryHighWatermark raises the memory alarm when the Go heap passes
	// it, in bytes. 0 disables the alarm.
	MemoryHighWatermark int64
	// DiskFreeLimit raises the disk alarm when the free space of the data
	// directory's filesystem drops below it. Default 50 MB (RabbitMQ's
	// disk_free_limit); negative disables the alarm.
	DiskFreeLimit int64
	// AlarmInterval is how often the alarms are checked. Default 1 s.
	AlarmInterval time.Duration

	// BlockCacheBytes is Pebble's block cache. Default 8 MiB.
	BlockCacheBytes int64
	// MemTableBytes is one Pebble memtable; up to four are in memory.
	// Default 32 MiB.
	MemTableBytes int64
	// FS is the filesystem (tests use pebble's in-memory vfs).
	FS vfs.FS
	// Clock is the time source for TTLs, x-expires and timers.
	Clock Clock
	// Logger receives operational messages. Default slog.Default().
	Logger *slog.Logger

	// ObjectStore is where cold queue data is tiered (TIERING.md); nil
	// disables tiering, and every message stays in Pebble.
	ObjectStore objstore.Store
	// Tier bounds the tiering; zero fields take tier's defaults.
	Tier tier.Config
}

// Defaults.
const (
	DefaultCacheBytes      = 64 << 20
	DefaultUnlimitedWindow = 2048
	DefaultInboxSize       = 4096
	DefaultDiskFreeLimit   = 50_000_000
	DefaultAlarmInterval   = time.Second
	maxShards              = 64
)

func (o Options) withDefaults() Options {
	if o.Shards <= 0 {
		o.Shards = runtime.GOMAXPROCS(0)
	}
	o.Shards = min(o.Shards, maxShards)
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.UnlimitedWindow == 0 {
		o.UnlimitedWindow = DefaultUnlimitedWindow
	}
	if o.InboxSize <= 0 {
		o.InboxSize = DefaultInboxSize
	}
	if o.DiskFreeLimit == 0 {
		o.DiskFreeLimit = DefaultDiskFreeLimit
	}
	if o.AlarmInterval <= 0 {
		o.AlarmInterval = DefaultAlarmInterval
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func (o *Options) queueConfig() queue.Config {
	return queue.Config{
		CacheBytes:     o.QueueCacheBytes,
		MinCacheBytes:  o.QueueMinCacheBytes,
		DeliveredChunk: o.DeliveredChunk,
	}
}

// Clock is the node's time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
