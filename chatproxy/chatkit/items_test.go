package chatkit_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
)

// DecodeItemAs, given the type a store keeps beside the document, decodes exactly what
// DecodeItem reads from the document's own tag.
func TestDecodeItemAsMatchesDecodeItem(t *testing.T) {
	base := chatkit.ItemBase{ID: "msg_1", ThreadID: "thr_1", CreatedAt: chatkit.Now()}
	items := []chatkit.Item{
		&chatkit.UserMessageItem{ItemBase: base, Content: []chatkit.UserContent{{Type: "input_text", Text: "hello"}}, Attachments: []chatkit.Attachment{}},
		&chatkit.AssistantMessageItem{ItemBase: base, Content: []chatkit.OutputText{{Text: "hi"}}},
		&chatkit.HiddenContextItem{ItemBase: base, Content: json.RawMessage(`{"type":"tool_calls"}`)},
		&chatkit.SDKHiddenContextItem{ItemBase: base, Content: chatkit.CancelledNote},
		&chatkit.WorkflowItem{ItemBase: base, Workflow: chatkit.Workflow{Type: chatkit.WorkflowCustom, Tasks: []chatkit.Task{}}},
	}
	for _, item := range items {
		doc, err := json.Marshal(item)
		if err != nil {
			t.Fatal(err)
		}
		want, err := chatkit.DecodeItem(doc)
		if err != nil {
			t.Fatalf("DecodeItem %s: %v", doc, err)
		}
		got, err := chatkit.DecodeItemAs(item.ItemType(), doc)
		if err != nil {
			t.Fatalf("DecodeItemAs %s: %v", doc, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: %s", item.ItemType(), diff)
		}
	}
	if _, err := chatkit.DecodeItemAs("no_such_type", []byte(`{}`)); err == nil {
		t.Error("an unknown type was decoded")
	}
}
