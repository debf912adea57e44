package chatstore

import (
	"sync"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
)

// The decoded items a Store keeps are bounded by count and by the size of their documents
// (a decoded item takes about as much again); when either is reached the memo starts over.
const (
	memoSize  = 4096
	memoBytes = 8 << 20
)

// itemMemo remembers items decoded at the start of a turn, each with the document it was
// decoded from. A turn reads its thread's newest items again on every message, and most of
// them have not changed since the turn before; decoding their JSON was the largest part of
// chatproxy's own CPU per turn. An entry is used only when the document the database just
// returned is byte for byte the one it was decoded from, so the database stays the truth:
// a change made by another replica (or by this one) is a different document and is decoded
// afresh. Items handed out may be shared between turns and are not to be modified.
type itemMemo struct {
	mu      sync.Mutex
	entries map[memoKey]memoEntry
	bytes   int // of the documents in entries
}

type memoKey struct{ userID, itemID string }

type memoEntry struct {
	doc  string
	item chatkit.Item
}

// decode returns the item of doc (of type typ), decoded now or earlier from the same bytes.
func (m *itemMemo) decode(userID, itemID, typ, doc string) (chatkit.Item, error) {
	key := memoKey{userID, itemID}
	m.mu.Lock()
	e, ok := m.entries[key]
	m.mu.Unlock()
	if ok && e.doc == doc && e.item.ItemType() == typ {
		return e.item, nil
	}
	item, err := chatkit.DecodeItemAs(typ, []byte(doc))
	if err != nil {
		return nil, err
	}
	if len(doc) > memoBytes/64 {
		return item, nil // a rare large item is not worth a sixty-fourth of the memo
	}
	m.mu.Lock()
	if m.entries == nil || len(m.entries) >= memoSize || m.bytes+len(doc) > memoBytes {
		m.entries, m.bytes = make(map[memoKey]memoEntry), 0
	}
	if old, ok := m.entries[key]; ok {
		m.bytes -= len(old.doc)
	}
	m.entries[key] = memoEntry{doc: doc, item: item}
	m.bytes += len(doc)
	m.mu.Unlock()
	return item, nil
}
