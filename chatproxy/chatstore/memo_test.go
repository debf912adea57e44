package chatstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
)

func TestItemMemo(t *testing.T) {
	doc := func(id, text string) string {
		b, err := json.Marshal(&chatkit.AssistantMessageItem{ItemBase: chatkit.ItemBase{ID: id, ThreadID: "thr_1", CreatedAt: chatkit.Now()}, Content: []chatkit.OutputText{{Text: text}}})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var m itemMemo
	decode := func(user, id, d string) chatkit.Item {
		t.Helper()
		item, err := m.decode(user, id, chatkit.TypeAssistantMessage, d)
		if err != nil {
			t.Fatal(err)
		}
		return item
	}
	first, edited := doc("m1", "one"), doc("m1", "one, edited")
	a := decode("alice", "m1", first)
	cases := []struct {
		name     string
		user, id string
		doc      string
		same     bool // the item decoded first is handed out again
		wantText string
	}{
		{"the same document again", "alice", "m1", strings.Clone(first), true, "one"},
		{"the item changed", "alice", "m1", edited, false, "one, edited"},
		{"another user's item of that id", "bob", "m1", first, false, "one"},
	}
	for _, c := range cases {
		got := decode(c.user, c.id, c.doc)
		if (got == a) != c.same || got.(*chatkit.AssistantMessageItem).Text() != c.wantText {
			t.Errorf("%s: reused %v, text %q; want reused %v, text %q", c.name, got == a, got.(*chatkit.AssistantMessageItem).Text(), c.same, c.wantText)
		}
	}
	// The same bytes under another type (the type column changed): decoded afresh.
	if item, err := m.decode("alice", "m1", chatkit.TypeUserMessage, edited); err != nil || item.ItemType() != chatkit.TypeUserMessage {
		t.Errorf("a memo of another type was handed out: %v, %v", item, err)
	}
	// Kept across a turnover of generations: an item in use moves to the current one.
	keptDoc := doc("k1", "kept")
	kept := decode("erin", "k1", keptDoc)
	for i := range memoSize * 2 {
		decode("carol", fmt.Sprint("m", i), doc(fmt.Sprint("m", i), "x"))
		if i%(memoSize/4) == 0 && decode("erin", "k1", keptDoc) != kept {
			t.Fatalf("after %d other items, an item read every %d decodes was decoded again", i, memoSize/4)
		}
	}
	for i := range memoSize + 10 {
		decode("carol", fmt.Sprint("m", i), doc(fmt.Sprint("m", i), "x"))
	}
	if n := memoLen(&m); n > memoSize {
		t.Errorf("the memo holds %d items, more than %d", n, memoSize)
	}

	// Bounded by bytes too: large documents fill it sooner, and one too large is not kept.
	big := strings.Repeat("x", memoBytes/64-1024)
	for i := range 200 {
		decode("dave", fmt.Sprint("b", i), doc(fmt.Sprint("b", i), big))
		if n := memoBytesHeld(&m); n > memoBytes {
			t.Fatalf("after %d large items the memo holds %d bytes of documents, more than %d", i+1, n, memoBytes)
		}
	}
	if n := memoLen(&m); n*len(big) > memoBytes {
		t.Errorf("the memo holds %d large items (%d bytes of documents): more than its bytes allow", n, memoBytesHeld(&m))
	}
	huge := doc("h1", strings.Repeat("y", memoBytes/64))
	if decode("dave", "h1", huge) == decode("dave", "h1", huge) {
		t.Error("an item over a sixty-fourth of the memo was kept")
	}
}

func memoLen(m *itemMemo) int       { return len(m.cur.entries) + len(m.old.entries) }
func memoBytesHeld(m *itemMemo) int { return m.cur.bytes + m.old.bytes }
