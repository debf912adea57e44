package chatstore

import (
	"sync"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
)

// The decoded items a Store keeps are bounded by count and by the size of their documents
// (a decoded item takes about as much again), in two generations of half each.
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
//
// When the current generation is full it becomes the old one and the older is dropped; an
// item found in the old generation moves to the current one. So the items of threads in use
// survive a turnover, where emptying one map would drop them all whenever the threads in use
// hold more items than the memo.
type itemMemo struct {
	mu       sync.Mutex
	cur, old memoGen
}

type memoGen struct {
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
	matches := func(e memoEntry, ok bool) bool { return ok && e.doc == doc && e.item.ItemType() == typ }
	m.mu.Lock()
	e, ok := m.cur.entries[key]
	if matches(e, ok) {
		m.mu.Unlock()
		return e.item, nil
	}
	if e, ok := m.old.entries[key]; matches(e, ok) {
		m.keep(key, e)
		m.mu.Unlock()
		return e.item, nil
	}
	m.mu.Unlock()
	item, err := chatkit.DecodeItemAs(typ, []byte(doc))
	if err != nil {
		return nil, err
	}
	if len(doc) > memoBytes/64 {
		return item, nil // a rare large item is not worth a sixty-fourth of the memo
	}
	m.mu.Lock()
	m.keep(key, memoEntry{doc: doc, item: item})
	m.mu.Unlock()
	return item, nil
}

// keep puts e in the current generation (and out of the old one), starting a new generation
// when the current one is full. m.mu is held.
func (m *itemMemo) keep(key memoKey, e memoEntry) {
	m.cur.drop(key)
	m.old.drop(key)
	if m.cur.entries == nil || len(m.cur.entries) >= memoSize/2 || m.cur.bytes+len(e.doc) > memoBytes/2 {
		m.old, m.cur = m.cur, memoGen{entries: make(map[memoKey]memoEntry)}
	}
	m.cur.entries[key] = e
	m.cur.bytes += len(e.doc)
}

func (g *memoGen) drop(key memoKey) {
	if e, ok := g.entries[key]; ok {
		delete(g.entries, key)
		g.bytes -= len(e.doc)
	}
}
