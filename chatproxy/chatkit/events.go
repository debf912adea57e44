package chatkit

import (
	"encoding/json"
)

// Event is one frame of a thread stream (docs/chatkit-protocol.md §3). The concrete types are the
// structs of this file; each encodes itself with its "type" tag.
type Event interface {
	// EventType is the wire discriminator, e.g. "thread.item.done".
	EventType() string
}

// ThreadCreated is the first event of threads.create.
type ThreadCreated struct{ Thread *Thread }

// ThreadUpdated says the thread's title, status or metadata changed.
type ThreadUpdated struct{ Thread *Thread }

// ItemAdded announces a pending item that updates will follow (not stored yet).
type ItemAdded struct{ Item Item }

// ItemUpdated changes a pending item (text deltas, workflow tasks, widget updates).
type ItemUpdated struct {
	ItemID string
	Update ItemUpdate
}

// ItemDone says an item is final; the server stores it before the frame is sent.
type ItemDone struct{ Item Item }

// ItemRemoved deletes an item; the server deletes it from the store first.
type ItemRemoved struct{ ItemID string }

// ItemReplaced swaps an existing item for a new version with the same id (stored first).
type ItemReplaced struct{ Item Item }

// StreamOptions is the first event of every response: whether the stop button shows.
type StreamOptions struct{ AllowCancel bool }

// Error codes of ErrorEvent. The client localizes stream.error itself; custom shows Message.
const (
	ErrorCodeStream = "stream.error"
	ErrorCodeCustom = "custom"
)

// ErrorEvent reports a failure once a stream has started; the stream then ends cleanly.
type ErrorEvent struct {
	Code       string
	Message    string // empty: omitted (the client shows its own text for stream.error)
	AllowRetry bool
}

// Notice levels.
const (
	NoticeInfo    = "info"
	NoticeWarning = "warning"
	NoticeDanger  = "danger"
)

// Notice is a user-facing banner (markdown), not stored.
type Notice struct {
	Level   string
	Message string
	Title   string // empty: omitted
}

// ProgressUpdate is a transient status line ("Searching…") shown until the next output.
type ProgressUpdate struct {
	Icon string // empty: omitted; an IconName such as "search" or "lucide:<name>"
	Text string
}

// ClientEffect is a fire-and-forget signal for the host page (onEffect), e.g.
// "tasks.changed"; not stored. Data must encode as a JSON object (nil: {}).
type ClientEffect struct {
	Name string
	Data any
}

// EventType implements Event.
func (ThreadCreated) EventType() string { return "thread.created" }

// EventType implements Event.
func (ThreadUpdated) EventType() string { return "thread.updated" }

// EventType implements Event.
func (ItemAdded) EventType() string { return "thread.item.added" }

// EventType implements Event.
func (ItemUpdated) EventType() string { return "thread.item.updated" }

// EventType implements Event.
func (ItemDone) EventType() string { return "thread.item.done" }

// EventType implements Event.
func (ItemRemoved) EventType() string { return "thread.item.removed" }

// EventType implements Event.
func (ItemReplaced) EventType() string { return "thread.item.replaced" }

// EventType implements Event.
func (StreamOptions) EventType() string { return "stream_options" }

// EventType implements Event.
func (ErrorEvent) EventType() string { return "error" }

// EventType implements Event.
func (Notice) EventType() string { return "notice" }

// EventType implements Event.
func (ProgressUpdate) EventType() string { return "progress_update" }

// EventType implements Event.
func (ClientEffect) EventType() string { return "client_effect" }

// MarshalJSON sends the thread with an empty items page, as the protocol does.
func (e ThreadCreated) MarshalJSON() ([]byte, error) { return marshalThreadEvent(e, e.Thread) }

// MarshalJSON sends the thread with an empty items page, as the protocol does.
func (e ThreadUpdated) MarshalJSON() ([]byte, error) { return marshalThreadEvent(e, e.Thread) }

func marshalThreadEvent(e Event, t *Thread) ([]byte, error) {
	return marshalTagged(e.EventType(), struct {
		Thread wireThread `json:"thread"`
	}{t.wire(Page[Item]{})})
}

type itemEvent struct {
	Item Item `json:"item"`
}

// MarshalJSON adds the type tag.
func (e ItemAdded) MarshalJSON() ([]byte, error) {
	return marshalTagged(e.EventType(), itemEvent(e))
}

// MarshalJSON adds the type tag.
func (e ItemDone) MarshalJSON() ([]byte, error) {
	return marshalTagged(e.EventType(), itemEvent(e))
}

// MarshalJSON adds the type tag.
func (e ItemReplaced) MarshalJSON() ([]byte, error) {
	return marshalTagged(e.EventType(), itemEvent(e))
}

// MarshalJSON adds the type tag.
func (e ItemUpdated) MarshalJSON() ([]byte, error) {
	if d, ok := e.Update.(TextDelta); ok {
		return appendTextDelta(make([]byte, 0, 160+len(e.ItemID)+len(d.Delta)), e.ItemID, d), nil
	}
	return marshalTagged(e.EventType(), struct {
		ItemID string     `json:"item_id"`
		Update ItemUpdate `json:"update"`
	}{e.ItemID, e.Update})
}

// MarshalJSON adds the type tag.
func (e ItemRemoved) MarshalJSON() ([]byte, error) {
	return marshalTagged(e.EventType(), struct {
		ItemID string `json:"item_id"`
	}{e.ItemID})
}

// MarshalJSON adds the type tag.
func (e StreamOptions) MarshalJSON() ([]byte, error) {
	type options struct {
		AllowCancel bool `json:"allow_cancel"`
	}
	return marshalTagged(e.EventType(), struct {
		StreamOptions options `json:"stream_options"`
	}{options{e.AllowCancel}})
}

// MarshalJSON adds the type tag.
func (e ErrorEvent) MarshalJSON() ([]byte, error) {
	if e.Code == "" {
		e.Code = ErrorCodeCustom
	}
	return marshalTagged(e.EventType(), struct {
		Code       string `json:"code"`
		Message    string `json:"message,omitempty"`
		AllowRetry bool   `json:"allow_retry"`
	}{e.Code, e.Message, e.AllowRetry})
}

// MarshalJSON adds the type tag.
func (e Notice) MarshalJSON() ([]byte, error) {
	if e.Level == "" {
		e.Level = NoticeInfo
	}
	return marshalTagged(e.EventType(), struct {
		Level   string `json:"level"`
		Message string `json:"message"`
		Title   string `json:"title,omitempty"`
	}{e.Level, e.Message, e.Title})
}

// MarshalJSON adds the type tag.
func (e ProgressUpdate) MarshalJSON() ([]byte, error) {
	return marshalTagged(e.EventType(), struct {
		Icon string `json:"icon,omitempty"`
		Text string `json:"text"`
	}{e.Icon, e.Text})
}

// MarshalJSON adds the type tag; nil data is sent as {}.
func (e ClientEffect) MarshalJSON() ([]byte, error) {
	data := e.Data
	if data == nil {
		data = emptyObject
	}
	return marshalTagged(e.EventType(), struct {
		Name string `json:"name"`
		Data any    `json:"data"`
	}{e.Name, data})
}

// ItemUpdate is the payload of ItemUpdated (docs/chatkit-protocol.md §3.4); the concrete types
// follow.
type ItemUpdate interface {
	// UpdateType is the wire discriminator, e.g. "assistant_message.content_part.text_delta".
	UpdateType() string
}

// ContentPartAdded starts a content part of an assistant message (usually empty text).
type ContentPartAdded struct {
	ContentIndex int        `json:"content_index"`
	Content      OutputText `json:"content"`
}

// TextDelta appends text to a content part.
type TextDelta struct {
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// AnnotationAdded inserts a citation into a content part.
type AnnotationAdded struct {
	ContentIndex    int        `json:"content_index"`
	AnnotationIndex int        `json:"annotation_index"`
	Annotation      Annotation `json:"annotation"`
}

// ContentPartDone gives a content part's final text.
type ContentPartDone struct {
	ContentIndex int        `json:"content_index"`
	Content      OutputText `json:"content"`
}

// WidgetTextDelta appends to a Text/Markdown widget component that has an id.
type WidgetTextDelta struct {
	ComponentID string `json:"component_id"`
	Delta       string `json:"delta"`
	Done        bool   `json:"done"`
}

// WidgetRootUpdated replaces a whole widget tree in the client only (not stored; use
// ItemReplaced for a change that must survive a reload).
type WidgetRootUpdated struct {
	Widget json.RawMessage `json:"widget"`
}

// WidgetComponentUpdated replaces one widget component in the client only.
type WidgetComponentUpdated struct {
	ComponentID string          `json:"component_id"`
	Component   json.RawMessage `json:"component"`
}

// WorkflowTaskAdded appends a task to a workflow.
type WorkflowTaskAdded struct {
	TaskIndex int  `json:"task_index"`
	Task      Task `json:"task"`
}

// WorkflowTaskUpdated replaces the task at TaskIndex.
type WorkflowTaskUpdated struct {
	TaskIndex int  `json:"task_index"`
	Task      Task `json:"task"`
}

// GeneratedImageUpdated shows a partial image; Progress is 0..1.
type GeneratedImageUpdated struct {
	Image    GeneratedImage `json:"image"`
	Progress *float64       `json:"progress,omitempty"`
}

// UpdateType implements ItemUpdate.
func (ContentPartAdded) UpdateType() string { return "assistant_message.content_part.added" }

// UpdateType implements ItemUpdate.
func (TextDelta) UpdateType() string { return "assistant_message.content_part.text_delta" }

// UpdateType implements ItemUpdate.
func (AnnotationAdded) UpdateType() string {
	return "assistant_message.content_part.annotation_added"
}

// UpdateType implements ItemUpdate.
func (ContentPartDone) UpdateType() string { return "assistant_message.content_part.done" }

// UpdateType implements ItemUpdate.
func (WidgetTextDelta) UpdateType() string { return "widget.streaming_text.value_delta" }

// UpdateType implements ItemUpdate.
func (WidgetRootUpdated) UpdateType() string { return "widget.root.updated" }

// UpdateType implements ItemUpdate.
func (WidgetComponentUpdated) UpdateType() string { return "widget.component.updated" }

// UpdateType implements ItemUpdate.
func (WorkflowTaskAdded) UpdateType() string { return "workflow.task.added" }

// UpdateType implements ItemUpdate.
func (WorkflowTaskUpdated) UpdateType() string { return "workflow.task.updated" }

// UpdateType implements ItemUpdate.
func (GeneratedImageUpdated) UpdateType() string { return "generated_image.updated" }

// MarshalJSON adds the type tag.
func (u ContentPartAdded) MarshalJSON() ([]byte, error) {
	type plain ContentPartAdded
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u TextDelta) MarshalJSON() ([]byte, error) {
	type plain TextDelta
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u AnnotationAdded) MarshalJSON() ([]byte, error) {
	type plain AnnotationAdded
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u ContentPartDone) MarshalJSON() ([]byte, error) {
	type plain ContentPartDone
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u WidgetTextDelta) MarshalJSON() ([]byte, error) {
	type plain WidgetTextDelta
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u WidgetRootUpdated) MarshalJSON() ([]byte, error) {
	type plain WidgetRootUpdated
	u.Widget = orEmptyObject(u.Widget)
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u WidgetComponentUpdated) MarshalJSON() ([]byte, error) {
	type plain WidgetComponentUpdated
	u.Component = orEmptyObject(u.Component)
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u WorkflowTaskAdded) MarshalJSON() ([]byte, error) {
	type plain WorkflowTaskAdded
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u WorkflowTaskUpdated) MarshalJSON() ([]byte, error) {
	type plain WorkflowTaskUpdated
	return marshalTagged(u.UpdateType(), plain(u))
}

// MarshalJSON adds the type tag.
func (u GeneratedImageUpdated) MarshalJSON() ([]byte, error) {
	type plain GeneratedImageUpdated
	return marshalTagged(u.UpdateType(), plain(u))
}
