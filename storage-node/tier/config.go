package tier

// Config bounds the tier; zero fields take defaults. The node enforces
// the node-wide bounds (HotBytes, ReadAheadBytes, Uploaders, Fetchers); a
// Queue enforces the per-queue ones.
type Config struct {
	// HotBytes is the node's budget of hot bytes: from HotBytes/2 the node
	// scans for queues to offload (Pick's scan mode); at HotBytes the
	// hot-budget alarm blocks publishers.
	HotBytes int64
	// QueueHotBytes: once a queue's hot bytes pass it, the queue offloads
	// until they are at most QueueHotBytes - SegmentBytes.
	QueueHotBytes int64
	// SegmentBytes is the target size of a segment; MinSegmentBytes is
	// the least a queue must hold hot to offload in scan mode, and the
	// size a lane should reach before it is preferred over higher lanes.
	SegmentBytes    int64
	MinSegmentBytes int64
	// ReadAheadBytes bounds the node's cached and in-flight blocks;
	// QueueReadAheadBytes a lane's. FetchBytes is the size of one block
	// read (at least one record).
	ReadAheadBytes      int64
	QueueReadAheadBytes int64
	FetchBytes          int64
	// Uploaders and Fetchers bound the node's concurrent object-store
	// writes and reads.
	Uploaders int
	Fetchers  int
}

// Defaults for Config (TIERING.md §8).
const (
	DefaultHotBytes            = 1 << 30
	DefaultQueueHotBytes       = 64 << 20
	DefaultSegmentBytes        = 8 << 20
	DefaultMinSegmentBytes     = 1 << 20
	DefaultReadAheadBytes      = 64 << 20
	DefaultQueueReadAheadBytes = 4 << 20
	DefaultFetchBytes          = 1 << 20
	DefaultUploaders           = 2
	DefaultFetchers            = 8
)

// RecordOverhead is what each record adds to its body in the hot measure,
// so floods of tiny messages reach the thresholds too.
const RecordOverhead = 64

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.HotBytes, DefaultHotBytes)
	def(&c.QueueHotBytes, DefaultQueueHotBytes)
	def(&c.SegmentBytes, DefaultSegmentBytes)
	def(&c.MinSegmentBytes, min(DefaultMinSegmentBytes, c.SegmentBytes))
	def(&c.ReadAheadBytes, DefaultReadAheadBytes)
	def(&c.QueueReadAheadBytes, DefaultQueueReadAheadBytes)
	def(&c.FetchBytes, DefaultFetchBytes)
	if c.Uploaders <= 0 {
		c.Uploaders = DefaultUploaders
	}
	if c.Fetchers <= 0 {
		c.Fetchers = DefaultFetchers
	}
	return c
}
