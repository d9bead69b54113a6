// Package tier is the I/O-free bookkeeping of one queue's records tiered to
// the object store (TIERING.md): per lane and per record kind (Durable,
// Spill), the segment table, the hot and cold estimates, the choice of
// the next upload, the cached blocks that serve Load, and which segments
// to check for deadness. The node's workers do the I/O (uploader,
// fetcher, deleter) and report back to the shard, which hands the results
// to the queue's tier.Queue; the node writes what a method returns into
// its batch.
//
// # Model
//
// A lane's ID space, as the queue state machine sees it:
//
//	settled < floor | mem, in flight, requeued | diskFrom … nextID
//
// The disk part [diskFrom, nextID) is in Pebble ('p'/'t' records, hot) or
// in segments (cold). Each lane and kind has its own table of segments:
// ascending, non-overlapping ID ranges [First, Last]. Segments of the two
// kinds may interleave by ID; Load merges them with Pebble's records.
//
// The tier never reads the queue's records. What it needs from the queue
// state machine (the disk part's span, the floor, whether a range still
// holds a live ID) comes through Source, so the counters stay where the
// queue keeps them and nothing is counted twice.
//
// # Tickets
//
// Every upload and fetch handed out carries the Queue's generation (given
// at New, distinct for each tier.Queue of a queue ID) and a sequence
// number. A result is applied only if both match what the Queue still
// waits for: results for a deleted queue, a purged lane or a superseded
// read are dropped, and the caller learns it from the answer.
//
// # How the node drives it
//
// On the shard goroutine, per queue (src adapts the queue.Queue):
//
//	effects.Delete        Delete: cold -> write a cold ack, else delete the record
//	effects.DeleteRange   DeleteRange: cold acks for the ColdRanges it returns
//	effects.DeleteQueue   Drop: delete intents for the segments it returns
//	end of an iteration   Account (node hot counters), Dead (in the same batch),
//	                      Pick (if an uploader slot is free) -> Upload to the uploader
//	upload result         Commit (or Cancel after a failed Put) -> the commit batch
//	Store.Load            Avail, DB.Load up to the bound, Merge (loop while it
//	                      skips acked blocks), then Fetches -> reads to the fetcher
//	fetch result          Fetched (true: Resume the queue), then Fetches
//	startup               Restore with pebblestore.Recovered.Segments
//
// # Ownership
//
// A Queue is not safe for concurrent use: the shard goroutine that owns
// the queue's state machine calls every method. Values handed to workers
// (Upload, Fetch, and the *segment.Index a Fetch carries) are immutable.
package tier
