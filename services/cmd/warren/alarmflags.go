package main

import "flag"

// alarmFlags registers the resource alarm thresholds every process holding
// a storage node takes (`serve`, `storage-node`): --memory-high-watermark,
// a fraction of RAM, and --disk-free-limit, in bytes. The function it
// returns, called once fs is parsed, gives them as node.Options wants
// them: the heap size in bytes past which the memory alarm is raised (0,
// disabled, when the fraction is 0 or the RAM unknown) and the free space
// below which the disk alarm is.
func alarmFlags(fs *flag.FlagSet) func() (memory, disk int64) {
	fraction := fs.Float64("memory-high-watermark", 0.6, "block publishers when the heap passes this fraction of RAM (0 disables)")
	disk := fs.Int64("disk-free-limit", 50_000_000, "block publishers when free disk space drops below this many bytes (negative disables)")
	return func() (int64, int64) {
		return int64(*fraction * float64(totalMemory())), *disk
	}
}
