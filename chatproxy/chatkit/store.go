package chatkit

import "context"

// Store keeps threads and items per user (docs/chatkit-protocol.md §6). Every method names the user
// and must behave for another user's thread or item exactly as for a missing one (ErrNotFound).
// Each method is atomic on its own; the server persists before it sends, so a failed write surfaces
// as an error (an error event mid-stream) and never as a frame the store does not back.
type Store interface {
	// CreateThread stores a new thread together with its first item (nil: none), in one
	// transaction: a thread never exists without the message that started it, even when the
	// database goes away half-way.
	CreateThread(ctx context.Context, userID string, t *Thread, first Item) error
	// SaveThread replaces an existing thread's metadata; ErrNotFound when it is gone (a
	// stream never brings a deleted thread back).
	SaveThread(ctx context.Context, userID string, t *Thread) error
	// LoadThread returns the thread or ErrNotFound.
	LoadThread(ctx context.Context, userID, threadID string) (*Thread, error)
	// LoadThreads pages through the user's threads by creation time.
	LoadThreads(ctx context.Context, userID string, q PageQuery) (Page[*Thread], error)
	// DeleteThread deletes the thread and all its items; ErrNotFound when there is none.
	DeleteThread(ctx context.Context, userID, threadID string) error

	// LoadItems pages through a thread's items in (created_at, insertion) order, hidden
	// items included. ErrNotFound for an unknown thread or cursor.
	LoadItems(ctx context.Context, userID, threadID string, q PageQuery) (Page[Item], error)
	// LoadItem returns one item of the thread or ErrNotFound.
	LoadItem(ctx context.Context, userID, threadID, itemID string) (Item, error)
	// SaveItem upserts an item by id: a new id is appended to the thread, a known one gets
	// the new content and keeps its position (so adding twice is harmless). ErrNotFound when
	// the thread is gone.
	SaveItem(ctx context.Context, userID, threadID string, item Item) error
	// DeleteItem deletes one item; deleting a missing item is not an error.
	DeleteItem(ctx context.Context, userID, threadID, itemID string) error
	// DeleteItemsAfter deletes every item that comes after itemID (retry).
	DeleteItemsAfter(ctx context.Context, userID, threadID, itemID string) error
	// CountItems says how many of ids are items of the thread (ownership checks).
	CountItems(ctx context.Context, userID, threadID string, ids []string) (int, error)

	// LockThread makes streaming requests on one thread take turns, across every replica
	// that shares the store. It waits while another holder has the thread (until ctx ends
	// or the store's own wait limit: then ErrThreadBusy) and returns ErrNotFound for a
	// missing thread. Once it holds the thread it does start's work and reads the thread, in
	// the same round trip as taking the lock, so that a turn knows its thread and history
	// after one trip to the database.
	LockThread(ctx context.Context, userID, threadID string, start TurnStart) (*LockedThread, error)
}

// TurnStart is what a streaming request does as soon as it holds its thread.
type TurnStart struct {
	// NewItem, if not nil, makes an item to store (as SaveItem) once the lock is held, such
	// as the user's new message; the lock is not kept if it cannot be stored. It is called
	// for each attempt to take the lock, so the item is stamped when it is stored and comes
	// after everything an earlier holder wrote; the last call's item is the one stored.
	NewItem func() Item
	// Recent is how many of the thread's newest items to read once NewItem's item is
	// stored (0: none).
	Recent int
}

// LockedThread is a thread held by one streaming request.
type LockedThread struct {
	ThreadLock
	// Thread is the thread as stored when the lock was taken.
	Thread *Thread
	// Recent is the thread's newest TurnStart.Recent items, newest first (as LoadItems
	// with Order Desc), NewItem's included. A store may share these items between the
	// turns that read them (decoding each stored document once): they are read-only.
	Recent Page[Item]
}

// ThreadLock is held by one streaming request on a thread.
type ThreadLock interface {
	// Lost is closed if the lock could not be kept (e.g. the database was unreachable for
	// longer than the lease); the holder must then stop writing.
	Lost() <-chan struct{}
	// Release gives the thread back. It is safe to call more than once.
	Release()
	// ReleaseWith stores item (as Store.SaveItem) and gives the thread back in the same
	// round trip: the end of a turn whose last output is item. The lock is no longer
	// renewed from this call on; if it fails the thread may still be held, the turn should
	// end, and Release gives the thread back.
	ReleaseWith(ctx context.Context, item Item) error
}
