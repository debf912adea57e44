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
	first := doc("m1", "one")
	a := decode("alice", "m1", first)
	cases := []struct {
		name     string
		user, id string
		doc      string
		same     bool // the item decoded first is handed out again
		wantText string
	}{
		{"the same document again", "alice", "m1", strings.Clone(first), true, "one"},
		{"the item changed", "alice", "m1", doc("m1", "one, edited"), false, "one, edited"},
		{"another user's item of that id", "bob", "m1", first, false, "one"},
	}
	for _, c := range cases {
		got := decode(c.user, c.id, c.doc)
		if (got == a) != c.same || got.(*chatkit.AssistantMessageItem).Text() != c.wantText {
			t.Errorf("%s: reused %v, text %q; want reused %v, text %q", c.name, got == a, got.(*chatkit.AssistantMessageItem).Text(), c.same, c.wantText)
		}
	}
	if _, err := m.decode("alice", "m1", chatkit.TypeUserMessage, doc("m1", "one, edited")); err != nil {
		t.Fatal(err)
	}
	if item, _ := m.decode("alice", "m1", chatkit.TypeUserMessage, doc("m1", "one, edited")); item.ItemType() != chatkit.TypeUserMessage {
		t.Errorf("a memo of another type was handed out: %s", item.ItemType())
	}
	for i := range memoSize + 10 {
		decode("carol", fmt.Sprint("m", i), doc(fmt.Sprint("m", i), "x"))
	}
	if len(m.entries) > memoSize {
		t.Errorf("the memo holds %d items, more than %d", len(m.entries), memoSize)
	}

	// Bounded by bytes too: large documents fill it sooner, and one too large is not kept.
	big := strings.Repeat("x", memoBytes/64-1024)
	for i := range 200 {
		decode("dave", fmt.Sprint("b", i), doc(fmt.Sprint("b", i), big))
		if m.bytes > memoBytes {
			t.Fatalf("after %d large items the memo holds %d bytes of documents, more than %d", i+1, m.bytes, memoBytes)
		}
	}
	if n := len(m.entries); n >= 64 {
		t.Errorf("the memo holds %d large items (%d bytes): it should have started over by 64", n, m.bytes)
	}
	huge := doc("h1", strings.Repeat("y", memoBytes/64))
	if decode("dave", "h1", huge) == decode("dave", "h1", huge) {
		t.Error("an item over a sixty-fourth of the memo was kept")
	}
}
