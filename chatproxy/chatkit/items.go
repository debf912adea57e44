package chatkit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Item is one entry of a thread (docs/chatkit-protocol.md §4.3). The concrete types are the *…Item
// structs of this file; a type switch over them reads a thread's history. Items are always
// pointers, so the server can fill in ids and timestamps that a responder leaves empty.
type Item interface {
	// Base gives the fields every item has.
	Base() *ItemBase
	// ItemType is the wire discriminator, e.g. "assistant_message".
	ItemType() string
}

// ItemBase holds what every item has. A responder may leave ID, ThreadID and CreatedAt
// zero: the Stream fills them in before it stores or sends the item.
type ItemBase struct {
	ID        string    `json:"id"`
	ThreadID  string    `json:"thread_id"`
	CreatedAt time.Time `json:"created_at"`
}

// Base implements Item.
func (b *ItemBase) Base() *ItemBase { return b }

// Item types (the wire discriminators).
const (
	TypeUserMessage      = "user_message"
	TypeAssistantMessage = "assistant_message"
	TypeClientToolCall   = "client_tool_call"
	TypeWidget           = "widget"
	TypeGeneratedImage   = "generated_image"
	TypeStructuredInput  = "structured_input"
	TypeWorkflow         = "workflow"
	TypeTask             = "task"
	TypeEndOfTurn        = "end_of_turn"
	TypeHiddenContext    = "hidden_context_item"
	TypeSDKHiddenContext = "sdk_hidden_context"
)

// IsHidden reports whether item is model-only context: stored, never sent or listed.
func IsHidden(item Item) bool {
	switch item.(type) {
	case *HiddenContextItem, *SDKHiddenContextItem:
		return true
	}
	return false
}

// itemPrefix is the id prefix for a new item of this kind.
func itemPrefix(item Item) string {
	switch item.(type) {
	case *ClientToolCallItem:
		return PrefixToolCall
	case *WidgetItem:
		return PrefixWidget
	case *GeneratedImageItem:
		return PrefixImage
	case *StructuredInputItem:
		return PrefixStructuredInput
	case *WorkflowItem:
		return PrefixWorkflow
	case *TaskItem:
		return PrefixTask
	case *EndOfTurnItem:
		return PrefixEndOfTurn
	case *HiddenContextItem:
		return PrefixHiddenContext
	case *SDKHiddenContextItem:
		return PrefixSDKHidden
	}
	return PrefixMessage
}

// DecodeItem parses an item from its JSON document (as stored), choosing the Go type by the
// "type" field. Unknown types are an error: they cannot be rendered or given to a model.
func DecodeItem(data []byte) (Item, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decode item: %w", err)
	}
	return DecodeItemAs(head.Type, data)
}

// DecodeItemAs is DecodeItem for a document whose type the caller knows already (a store
// that keeps it beside the document), which spares a whole pass over the document.
func DecodeItemAs(typ string, data []byte) (Item, error) {
	var item Item
	switch typ {
	case TypeUserMessage:
		item = &UserMessageItem{}
	case TypeAssistantMessage:
		item = &AssistantMessageItem{}
	case TypeClientToolCall:
		item = &ClientToolCallItem{}
	case TypeWidget:
		item = &WidgetItem{}
	case TypeGeneratedImage:
		item = &GeneratedImageItem{}
	case TypeStructuredInput:
		item = &StructuredInputItem{}
	case TypeWorkflow:
		item = &WorkflowItem{}
	case TypeTask:
		item = &TaskItem{}
	case TypeEndOfTurn:
		item = &EndOfTurnItem{}
	case TypeHiddenContext:
		item = &HiddenContextItem{}
	case TypeSDKHiddenContext:
		item = &SDKHiddenContextItem{}
	default:
		return nil, fmt.Errorf("decode item: unknown type %q", typ)
	}
	if err := json.Unmarshal(data, item); err != nil {
		return nil, fmt.Errorf("decode %s item: %w", typ, err)
	}
	return item, nil
}

// cloneItem returns a deep copy of item (through its JSON form, which is its whole state).
func cloneItem(item Item) (Item, error) {
	b, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	return DecodeItem(b)
}

// UserMessageItem is what the user sent: built by the server from the request.
type UserMessageItem struct {
	ItemBase
	Content          []UserContent    `json:"content"`
	Attachments      []Attachment     `json:"attachments"`
	QuotedText       *string          `json:"quoted_text,omitempty"`
	InferenceOptions InferenceOptions `json:"inference_options"`
}

// ItemType implements Item.
func (*UserMessageItem) ItemType() string { return TypeUserMessage }

// MarshalJSON adds the type tag and the lists that are always sent.
func (m UserMessageItem) MarshalJSON() ([]byte, error) {
	type plain UserMessageItem
	m.Content, m.Attachments = nonNil(m.Content), nonNil(m.Attachments)
	return marshalTagged(TypeUserMessage, plain(m))
}

// Text is the message as a model should read it: text parts joined, tags as "@<text>".
func (m *UserMessageItem) Text() string {
	var b strings.Builder
	for _, c := range m.Content {
		if c.Type == ContentInputTag {
			b.WriteString("@")
		}
		b.WriteString(c.Text)
	}
	return b.String()
}

// User content part types.
const (
	ContentInputText = "input_text"
	ContentInputTag  = "input_tag"
)

// UserContent is one part of a user message: {"type":"input_text","text"} or an entity tag
// {"type":"input_tag","id","text","data","group"?,"interactive"}.
type UserContent struct {
	Type        string          `json:"type"`
	Text        string          `json:"text"`
	ID          string          `json:"id,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	Group       *string         `json:"group,omitempty"`
	Interactive bool            `json:"interactive,omitempty"`
}

// MarshalJSON sends each kind with exactly its own fields.
func (c UserContent) MarshalJSON() ([]byte, error) {
	if c.Type == ContentInputTag {
		return marshalTagged(ContentInputTag, struct {
			ID          string          `json:"id"`
			Text        string          `json:"text"`
			Data        json.RawMessage `json:"data"`
			Group       *string         `json:"group,omitempty"`
			Interactive bool            `json:"interactive"`
		}{c.ID, c.Text, orEmptyObject(c.Data), c.Group, c.Interactive})
	}
	return marshalTagged(ContentInputText, struct {
		Text string `json:"text"`
	}{c.Text})
}

// InferenceOptions are the composer's tool and model choices, echoed back unchanged.
type InferenceOptions struct {
	ToolChoice *ToolChoice `json:"tool_choice,omitempty"`
	Model      *string     `json:"model,omitempty"`
}

// ToolChoice names a composer tool the user picked.
type ToolChoice struct {
	ID string `json:"id"`
}

// Attachment is an uploaded file or image. This server does not accept uploads
// (attachments.* answer "not supported"), but stored items may carry them.
type Attachment struct {
	Type             string            `json:"type"` // "file" or "image"
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	MimeType         string            `json:"mime_type"`
	UploadDescriptor *UploadDescriptor `json:"upload_descriptor,omitempty"`
	ThreadID         *string           `json:"thread_id,omitempty"`
	PreviewURL       *string           `json:"preview_url,omitempty"`
}

// UploadDescriptor tells the client where to upload an attachment's bytes.
type UploadDescriptor struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers,omitempty"`
}

// AssistantMessageItem is the assistant's markdown answer.
type AssistantMessageItem struct {
	ItemBase
	Content []OutputText `json:"content"`
}

// ItemType implements Item.
func (*AssistantMessageItem) ItemType() string { return TypeAssistantMessage }

// MarshalJSON adds the type tag.
func (m AssistantMessageItem) MarshalJSON() ([]byte, error) {
	type plain AssistantMessageItem
	m.Content = nonNil(m.Content)
	return marshalTagged(TypeAssistantMessage, plain(m))
}

// Text is the message's text parts joined.
func (m *AssistantMessageItem) Text() string {
	var b strings.Builder
	for _, c := range m.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}

// OutputText is one part of an assistant message: {"type":"output_text","text","annotations"}.
type OutputText struct {
	Text        string       `json:"text"`
	Annotations []Annotation `json:"annotations"`
}

// MarshalJSON adds the type tag.
func (c OutputText) MarshalJSON() ([]byte, error) {
	type plain OutputText
	c.Annotations = nonNil(c.Annotations)
	return marshalTagged("output_text", plain(c))
}

// Annotation cites a source at a character position of an output text.
type Annotation struct {
	Source Source `json:"source"`
	Index  *int   `json:"index,omitempty"`
}

// MarshalJSON adds the type tag.
func (a Annotation) MarshalJSON() ([]byte, error) {
	type plain Annotation
	return marshalTagged("annotation", plain(a))
}

// Source kinds.
const (
	SourceURL    = "url"
	SourceFile   = "file"
	SourceEntity = "entity"
)

// Source is where an annotation or a search task points: a URL, a file or an entity.
type Source struct {
	Type        string  `json:"type"`
	Title       string  `json:"title"`
	Description *string `json:"description,omitempty"`
	Timestamp   *string `json:"timestamp,omitempty"`
	Group       *string `json:"group,omitempty"`
	// url
	URL         string  `json:"url,omitempty"`
	Attribution *string `json:"attribution,omitempty"`
	// file
	Filename string `json:"filename,omitempty"`
	// entity
	ID          string          `json:"id,omitempty"`
	Icon        *string         `json:"icon,omitempty"`
	Label       *string         `json:"label,omitempty"`
	InlineLabel *string         `json:"inline_label,omitempty"`
	Interactive bool            `json:"interactive,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// MarshalJSON sends each kind with exactly its own fields.
func (s Source) MarshalJSON() ([]byte, error) {
	type common struct {
		Title       string  `json:"title"`
		Description *string `json:"description,omitempty"`
		Timestamp   *string `json:"timestamp,omitempty"`
		Group       *string `json:"group,omitempty"`
	}
	c := common{s.Title, s.Description, s.Timestamp, s.Group}
	switch s.Type {
	case SourceFile:
		return marshalTagged(SourceFile, struct {
			common
			Filename string `json:"filename"`
		}{c, s.Filename})
	case SourceEntity:
		return marshalTagged(SourceEntity, struct {
			common
			ID          string          `json:"id"`
			Icon        *string         `json:"icon,omitempty"`
			Label       *string         `json:"label,omitempty"`
			InlineLabel *string         `json:"inline_label,omitempty"`
			Interactive bool            `json:"interactive"`
			Data        json.RawMessage `json:"data"`
		}{c, s.ID, s.Icon, s.Label, s.InlineLabel, s.Interactive, orEmptyObject(s.Data)})
	}
	return marshalTagged(SourceURL, struct {
		common
		URL         string  `json:"url"`
		Attribution *string `json:"attribution,omitempty"`
	}{c, s.URL, s.Attribution})
}

// Client tool call statuses.
const (
	ToolCallPending   = "pending"
	ToolCallCompleted = "completed"
)

// ClientToolCallItem asks the browser to run a tool (onClientTool); the answer arrives as
// threads.add_client_tool_output.
type ClientToolCallItem struct {
	ItemBase
	Status    string          `json:"status"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Output    json.RawMessage `json:"output,omitempty"`
}

// ItemType implements Item.
func (*ClientToolCallItem) ItemType() string { return TypeClientToolCall }

// MarshalJSON adds the type tag; missing arguments are sent as {}.
func (c ClientToolCallItem) MarshalJSON() ([]byte, error) {
	type plain ClientToolCallItem
	c.Arguments = orEmptyObject(c.Arguments)
	return marshalTagged(TypeClientToolCall, plain(c))
}

// WidgetItem shows a widget tree (Card, ListView, Basic). The tree is passed through as JSON:
// the server never interprets it.
type WidgetItem struct {
	ItemBase
	Widget   json.RawMessage `json:"widget"`
	CopyText *string         `json:"copy_text,omitempty"`
}

// ItemType implements Item.
func (*WidgetItem) ItemType() string { return TypeWidget }

// MarshalJSON adds the type tag.
func (w WidgetItem) MarshalJSON() ([]byte, error) {
	type plain WidgetItem
	w.Widget = orEmptyObject(w.Widget)
	return marshalTagged(TypeWidget, plain(w))
}

// GeneratedImageItem is an image the assistant made; Image is nil while it is generating.
type GeneratedImageItem struct {
	ItemBase
	Image *GeneratedImage `json:"image,omitempty"`
}

// GeneratedImage is a finished (or partial) image.
type GeneratedImage struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// ItemType implements Item.
func (*GeneratedImageItem) ItemType() string { return TypeGeneratedImage }

// MarshalJSON adds the type tag.
func (g GeneratedImageItem) MarshalJSON() ([]byte, error) {
	type plain GeneratedImageItem
	return marshalTagged(TypeGeneratedImage, plain(g))
}

// Structured input statuses.
const (
	InputPending  = "pending"
	InputAnswered = "answered"
	InputSkipped  = "skipped"
)

// StructuredInputItem asks the user questions through the composer (ChatKit 2026-05+); the
// answers arrive as threads.add_structured_input.
type StructuredInputItem struct {
	ItemBase
	Status string            `json:"status"`
	Inputs []StructuredInput `json:"inputs"`
}

// ItemType implements Item.
func (*StructuredInputItem) ItemType() string { return TypeStructuredInput }

// MarshalJSON adds the type tag.
func (s StructuredInputItem) MarshalJSON() ([]byte, error) {
	type plain StructuredInputItem
	s.Inputs = nonNil(s.Inputs)
	return marshalTagged(TypeStructuredInput, plain(s))
}

// Structured input question kinds.
const (
	QuestionMultipleChoice = "multiple_choice"
	QuestionFreeform       = "freeform"
)

// StructuredInput is one question: multiple choice (Options, Multiple) or free form.
type StructuredInput struct {
	Type        string          `json:"type"`
	ID          string          `json:"id"`
	Question    string          `json:"question"`
	Options     []ChoiceOption  `json:"options,omitempty"`
	Multiple    bool            `json:"multiple,omitempty"`
	Description *string         `json:"description,omitempty"`
	Answer      *QuestionAnswer `json:"answer,omitempty"`
}

// ChoiceOption is one choice of a multiple-choice question.
type ChoiceOption struct {
	Value string `json:"value"`
}

// QuestionAnswer is what the user answered, or that they skipped the question.
type QuestionAnswer struct {
	Values  []string `json:"values"`
	Skipped bool     `json:"skipped"`
}

// MarshalJSON sends each kind with exactly its own fields.
func (q StructuredInput) MarshalJSON() ([]byte, error) {
	if q.Answer != nil {
		a := *q.Answer
		a.Values = nonNil(a.Values)
		q.Answer = &a
	}
	if q.Type == QuestionFreeform {
		return marshalTagged(QuestionFreeform, struct {
			ID          string          `json:"id"`
			Question    string          `json:"question"`
			Description *string         `json:"description,omitempty"`
			Answer      *QuestionAnswer `json:"answer,omitempty"`
		}{q.ID, q.Question, q.Description, q.Answer})
	}
	return marshalTagged(QuestionMultipleChoice, struct {
		ID       string          `json:"id"`
		Question string          `json:"question"`
		Options  []ChoiceOption  `json:"options"`
		Multiple bool            `json:"multiple"`
		Answer   *QuestionAnswer `json:"answer,omitempty"`
	}{q.ID, q.Question, nonNil(q.Options), q.Multiple, q.Answer})
}

// WorkflowItem is a collapsible block of work (e.g. one task per tool call).
type WorkflowItem struct {
	ItemBase
	Workflow Workflow `json:"workflow"`
}

// ItemType implements Item.
func (*WorkflowItem) ItemType() string { return TypeWorkflow }

// MarshalJSON adds the type tag.
func (w WorkflowItem) MarshalJSON() ([]byte, error) {
	type plain WorkflowItem
	return marshalTagged(TypeWorkflow, plain(w))
}

// Workflow kinds.
const (
	WorkflowCustom    = "custom"
	WorkflowReasoning = "reasoning"
)

// Workflow is a WorkflowItem's content.
type Workflow struct {
	Type     string           `json:"type"` // WorkflowCustom or WorkflowReasoning
	Tasks    []Task           `json:"tasks"`
	Summary  *WorkflowSummary `json:"summary,omitempty"`
	Expanded bool             `json:"expanded"`
}

// MarshalJSON sends an empty task list as [] and a missing kind as custom.
func (w Workflow) MarshalJSON() ([]byte, error) {
	type plain Workflow
	w.Tasks = nonNil(w.Tasks)
	if w.Type == "" {
		w.Type = WorkflowCustom
	}
	return marshalCompact(plain(w))
}

// WorkflowSummary is shown on a collapsed workflow: either a title (and icon) or a duration.
type WorkflowSummary struct {
	Title    *string `json:"title,omitempty"`
	Icon     *string `json:"icon,omitempty"`
	Duration *int    `json:"duration,omitempty"` // seconds
}

// Task kinds.
const (
	TaskCustom    = "custom"
	TaskWebSearch = "web_search"
	TaskThought   = "thought"
	TaskFile      = "file"
	TaskImage     = "image"
)

// Task status indicators.
const (
	IndicatorNone     = "none"
	IndicatorLoading  = "loading"
	IndicatorComplete = "complete"
)

// Task is one row of a workflow or a TaskItem. Custom tasks (Title, Icon, Content) are what
// a responder shows for its own work; the other kinds mirror the reference.
type Task struct {
	Type            string   `json:"type"`
	StatusIndicator string   `json:"status_indicator,omitempty"`
	Title           *string  `json:"title,omitempty"`
	Icon            *string  `json:"icon,omitempty"`
	Content         *string  `json:"content,omitempty"`
	TitleQuery      *string  `json:"title_query,omitempty"`
	Queries         []string `json:"queries,omitempty"`
	Sources         []Source `json:"sources,omitempty"`
}

// MarshalJSON sends each kind with exactly its own fields.
func (t Task) MarshalJSON() ([]byte, error) {
	type common struct {
		StatusIndicator string  `json:"status_indicator"`
		Title           *string `json:"title,omitempty"`
	}
	c := common{t.StatusIndicator, t.Title}
	if c.StatusIndicator == "" {
		c.StatusIndicator = IndicatorNone
	}
	switch t.Type {
	case TaskWebSearch:
		return marshalTagged(TaskWebSearch, struct {
			common
			TitleQuery *string  `json:"title_query,omitempty"`
			Queries    []string `json:"queries"`
			Sources    []Source `json:"sources"`
		}{c, t.TitleQuery, nonNil(t.Queries), nonNil(t.Sources)})
	case TaskThought:
		content := ""
		if t.Content != nil {
			content = *t.Content
		}
		return marshalTagged(TaskThought, struct {
			common
			Content string `json:"content"`
		}{c, content})
	case TaskFile:
		return marshalTagged(TaskFile, struct {
			common
			Sources []Source `json:"sources"`
		}{c, nonNil(t.Sources)})
	case TaskImage:
		return marshalTagged(TaskImage, c)
	}
	return marshalTagged(TaskCustom, struct {
		common
		Icon    *string `json:"icon,omitempty"`
		Content *string `json:"content,omitempty"`
	}{c, t.Icon, t.Content})
}

// TaskItem is a standalone task row.
type TaskItem struct {
	ItemBase
	Task Task `json:"task"`
}

// ItemType implements Item.
func (*TaskItem) ItemType() string { return TypeTask }

// MarshalJSON adds the type tag.
func (t TaskItem) MarshalJSON() ([]byte, error) {
	type plain TaskItem
	return marshalTagged(TypeTask, plain(t))
}

// EndOfTurnItem is a marker the protocol defines; clients and models ignore it.
type EndOfTurnItem struct {
	ItemBase
}

// ItemType implements Item.
func (*EndOfTurnItem) ItemType() string { return TypeEndOfTurn }

// MarshalJSON adds the type tag.
func (e EndOfTurnItem) MarshalJSON() ([]byte, error) {
	return marshalTagged(TypeEndOfTurn, e.ItemBase)
}

// HiddenContextItem is context for the model only (e.g. tool calls and their results): it is
// stored with the thread and read back as history, but never sent to or listed for the client.
type HiddenContextItem struct {
	ItemBase
	Content json.RawMessage `json:"content"`
}

// ItemType implements Item.
func (*HiddenContextItem) ItemType() string { return TypeHiddenContext }

// MarshalJSON adds the type tag.
func (h HiddenContextItem) MarshalJSON() ([]byte, error) {
	type plain HiddenContextItem
	if len(h.Content) == 0 {
		h.Content = json.RawMessage(`""`)
	}
	return marshalTagged(TypeHiddenContext, plain(h))
}

// SDKHiddenContextItem is hidden context written by the server itself, such as the note that
// the user stopped an answer.
type SDKHiddenContextItem struct {
	ItemBase
	Content string `json:"content"`
}

// ItemType implements Item.
func (*SDKHiddenContextItem) ItemType() string { return TypeSDKHiddenContext }

// MarshalJSON adds the type tag.
func (h SDKHiddenContextItem) MarshalJSON() ([]byte, error) {
	type plain SDKHiddenContextItem
	return marshalTagged(TypeSDKHiddenContext, plain(h))
}
