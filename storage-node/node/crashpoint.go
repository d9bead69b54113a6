package node

// Crash points of the tier's workers, where the SIGKILL tests kill the
// process (TIERING.md §9): each is a window that the intents must cover.
const (
	crashAfterIntent  = "after-intent"  // upload intent synced, Put not started
	crashAfterPut     = "after-put"     // object stored, no table names it
	crashAfterCommit  = "after-commit"  // table entry committed (NoSync)
	crashBeforeDelete = "before-delete" // delete intent durable, object there
	crashAfterDelete  = "after-delete"  // object gone, delete intent left
)

// crashHook is called at each pass of a crash point when set. Only the
// SIGKILL tests' child process sets it, before Open, so the workers read
// it without a lock.
var crashHook func(point string)

func crashPoint(point string) {
	if crashHook != nil {
		crashHook(point)
	}
}
