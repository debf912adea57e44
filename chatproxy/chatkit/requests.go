package chatkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Request is one decoded ChatKit request (docs/chatkit-protocol.md §2). The concrete types are the
// *…Request structs below; build them directly to run the protocol without HTTP (e.g. for POST
// /api/chat).
type Request interface {
	// RequestType is the wire "type", e.g. "threads.add_user_message".
	RequestType() string
}

// StreamingRequest is a Request answered with a stream of events (docs/chatkit-protocol.md §1.2).
type StreamingRequest interface {
	Request
	streaming()
}

// UserMessageInput is what the composer sends for a new user message. Attachments are not
// here: this server does not accept them (a non-empty list is refused).
type UserMessageInput struct {
	Content          []UserContent
	QuotedText       *string
	InferenceOptions InferenceOptions
}

// TextInput is a plain-text user message, for callers that are not the ChatKit client.
func TextInput(text string) UserMessageInput {
	return UserMessageInput{Content: []UserContent{{Type: ContentInputText, Text: text}}}
}

// CreateThreadRequest is threads.create: a new thread with its first user message.
type CreateThreadRequest struct{ Input UserMessageInput }

// AddUserMessageRequest is threads.add_user_message.
type AddUserMessageRequest struct {
	ThreadID string
	Input    UserMessageInput
}

// AddClientToolOutputRequest is threads.add_client_tool_output: the browser's answer to the
// thread's pending client tool call.
type AddClientToolOutputRequest struct {
	ThreadID string
	Result   json.RawMessage
}

// AddStructuredInputRequest is threads.add_structured_input: answers to a pending
// structured_input item.
type AddStructuredInputRequest struct {
	ThreadID string
	ItemID   string
	Status   string // InputAnswered or InputSkipped
	Answers  map[string]QuestionAnswer
}

// RetryAfterItemRequest is threads.retry_after_item: answer the user message ItemID again,
// dropping everything after it.
type RetryAfterItemRequest struct {
	ThreadID string
	ItemID   string
}

// Action is a widget action: its type and untrusted payload, passed through verbatim.
type Action struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// CustomActionRequest is threads.custom_action: a widget action answered with a stream.
type CustomActionRequest struct {
	ThreadID string
	ItemID   string // empty: the action came without a sender widget
	Action   Action
}

// SyncCustomActionRequest is threads.sync_custom_action: the same action, answered with the
// updated item as JSON instead of a stream.
type SyncCustomActionRequest CustomActionRequest

// GetThreadRequest is threads.get_by_id.
type GetThreadRequest struct{ ThreadID string }

// ListThreadsRequest is threads.list.
type ListThreadsRequest struct{ Page PageQuery }

// UpdateThreadRequest is threads.update (the title is the only field a client may change).
type UpdateThreadRequest struct {
	ThreadID string
	Title    string
}

// DeleteThreadRequest is threads.delete.
type DeleteThreadRequest struct{ ThreadID string }

// ListItemsRequest is items.list.
type ListItemsRequest struct {
	ThreadID string
	Page     PageQuery
}

// FeedbackRequest is items.feedback (thumbs up/down).
type FeedbackRequest struct {
	ThreadID string
	ItemIDs  []string
	Kind     string // "positive" or "negative"
}

// UnsupportedRequest is a request type of the protocol this server does not implement
// (attachments.*, input.transcribe): answered 400 not_supported.
type UnsupportedRequest struct{ Type string }

// RequestType implements Request.
func (*CreateThreadRequest) RequestType() string { return "threads.create" }

// RequestType implements Request.
func (*AddUserMessageRequest) RequestType() string { return "threads.add_user_message" }

// RequestType implements Request.
func (*AddClientToolOutputRequest) RequestType() string {
	return "threads.add_client_tool_output"
}

// RequestType implements Request.
func (*AddStructuredInputRequest) RequestType() string { return "threads.add_structured_input" }

// RequestType implements Request.
func (*RetryAfterItemRequest) RequestType() string { return "threads.retry_after_item" }

// RequestType implements Request.
func (*CustomActionRequest) RequestType() string { return "threads.custom_action" }

// RequestType implements Request.
func (*SyncCustomActionRequest) RequestType() string { return "threads.sync_custom_action" }

// RequestType implements Request.
func (*GetThreadRequest) RequestType() string { return "threads.get_by_id" }

// RequestType implements Request.
func (*ListThreadsRequest) RequestType() string { return "threads.list" }

// RequestType implements Request.
func (*UpdateThreadRequest) RequestType() string { return "threads.update" }

// RequestType implements Request.
func (*DeleteThreadRequest) RequestType() string { return "threads.delete" }

// RequestType implements Request.
func (*ListItemsRequest) RequestType() string { return "items.list" }

// RequestType implements Request.
func (*FeedbackRequest) RequestType() string { return "items.feedback" }

// RequestType implements Request.
func (r *UnsupportedRequest) RequestType() string { return r.Type }

func (*CreateThreadRequest) streaming()        {}
func (*AddUserMessageRequest) streaming()      {}
func (*AddClientToolOutputRequest) streaming() {}
func (*AddStructuredInputRequest) streaming()  {}
func (*RetryAfterItemRequest) streaming()      {}
func (*CustomActionRequest) streaming()        {}

// Limits bound what a request may carry. Zero fields take the defaults.
type Limits struct {
	MaxBodyBytes    int64 // whole request body; default 1 MiB
	MaxMessageChars int   // characters of one user message; default 16 000
	MaxTitleChars   int   // thread title; default 200
	MaxPageSize     int   // largest page a list returns; default 100
}

// Defaults of Limits and of page sizes.
const (
	DefaultMaxBodyBytes    = 1 << 20
	DefaultMaxMessageChars = 16000
	DefaultMaxTitleChars   = 200
	DefaultMaxPageSize     = 100
	DefaultPageSize        = 20 // the reference's page size, also for get_by_id
	maxJSONDepth           = 64
	maxFeedbackItems       = 100
)

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxMessageChars <= 0 {
		l.MaxMessageChars = DefaultMaxMessageChars
	}
	if l.MaxTitleChars <= 0 {
		l.MaxTitleChars = DefaultMaxTitleChars
	}
	if l.MaxPageSize <= 0 {
		l.MaxPageSize = DefaultMaxPageSize
	}
	return l
}

// DecodeRequest parses and validates a request body. Every problem is an *Error (400) that
// names it; unknown fields are ignored so newer clients keep working. Text that PostgreSQL
// cannot store (NUL characters, numbers out of range) is refused here rather than failing
// half-way through a stream.
func DecodeRequest(body []byte, limits Limits) (Request, error) {
	limits = limits.withDefaults()
	env, err := decodeEnvelope(body, limits)
	if err != nil {
		return nil, err
	}
	if env.Type == nil {
		return nil, badRequest("missing \"type\"")
	}
	decode, ok := decoders[*env.Type]
	if !ok {
		return nil, badRequest("unknown request type %q", *env.Type)
	}
	if len(env.Params) == 0 || string(env.Params) == "null" || env.Params[0] != '{' {
		return nil, badRequest("%s: \"params\" must be an object", *env.Type)
	}
	req, err := decode(env.Params, limits)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Message = *env.Type + ": " + e.Message
			return nil, e
		}
		return nil, badRequest("%s: invalid params: %s", *env.Type, jsonProblem(err))
	}
	return req, nil
}

// envelope is the outside of a ChatKit request: its type and its (still encoded) params.
type envelope struct {
	Type   *string         `json:"type"`
	Params json.RawMessage `json:"params"`
}

// decodeEnvelope checks the body (canonicalJSON) and reads its envelope.
func decodeEnvelope(body []byte, limits Limits) (envelope, error) {
	var env envelope
	clean, err := canonicalJSON(body, limits.MaxBodyBytes)
	if err != nil {
		return env, err
	}
	if err := json.Unmarshal(clean, &env); err != nil {
		return env, badRequest("request must be a JSON object with \"type\" and \"params\"")
	}
	return env, nil
}

// RequestType returns the "type" of a request body exactly as DecodeRequest reads it (the
// same canonical form, so duplicate or case-folded keys cannot tell the two apart), or ""
// when DecodeRequest would refuse the body before reading it.
func RequestType(body []byte, limits Limits) string {
	env, err := decodeEnvelope(body, limits.withDefaults())
	if err != nil || env.Type == nil {
		return ""
	}
	return *env.Type
}

// IsStreaming reports whether a request of type requestType (RequestType) is answered with
// a stream (a model turn): the HTTP edge counts turns and open streams per user before the
// request reaches the Server.
func IsStreaming(requestType string) bool {
	return streamingTypes[requestType]
}

// streamingTypes are the RequestType values of the StreamingRequest types.
var streamingTypes = map[string]bool{
	(*CreateThreadRequest)(nil).RequestType():        true,
	(*AddUserMessageRequest)(nil).RequestType():      true,
	(*AddClientToolOutputRequest)(nil).RequestType(): true,
	(*AddStructuredInputRequest)(nil).RequestType():  true,
	(*RetryAfterItemRequest)(nil).RequestType():      true,
	(*CustomActionRequest)(nil).RequestType():        true,
}

// DecodeChatMessage decodes the body of the plain-JSON chat route,
// {"message": "…", "conversation_id"?: "…"}, with the same checks as DecodeRequest (one
// JSON object, nothing PostgreSQL cannot store, the message length limit), into the
// streaming request it stands for: a new thread, or a message added to conversation_id.
func DecodeChatMessage(body []byte, limits Limits) (StreamingRequest, error) {
	limits = limits.withDefaults()
	clean, err := canonicalJSON(body, limits.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	var v struct {
		Message        *string `json:"message"`
		ConversationID *string `json:"conversation_id"`
	}
	if err := json.Unmarshal(clean, &v); err != nil {
		return nil, badRequest("the body must be {\"message\": \"…\", \"conversation_id\"?: \"…\"}: %s", jsonProblem(err))
	}
	if v.Message == nil || strings.TrimSpace(*v.Message) == "" {
		return nil, badRequest("message must not be empty")
	}
	in := TextInput(*v.Message)
	if err := in.validate(limits); err != nil {
		return nil, err
	}
	if v.ConversationID != nil && *v.ConversationID != "" {
		return &AddUserMessageRequest{ThreadID: *v.ConversationID, Input: in}, nil
	}
	return &CreateThreadRequest{Input: in}, nil
}

func tooLarge(max int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", max)}
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q has the wrong type (%s)", te.Field, te.Value)
		}
		return fmt.Sprintf("wrong type (%s)", te.Value)
	}
	return "malformed JSON"
}

// canonicalJSON checks that body is one JSON object of at most maxBytes that PostgreSQL's
// jsonb can hold and returns it re-encoded: invalid UTF-8 and lone surrogates become U+FFFD,
// large integers keep their digits. NUL characters, out-of-range numbers and deep nesting are
// refused.
func canonicalJSON(body []byte, maxBytes int64) ([]byte, error) {
	if int64(len(body)) > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	// encoding/json would quietly store U+FFFD in place of each bad byte: refuse instead,
	// so what is stored is what the client sent.
	if !utf8.Valid(body) {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body is not valid JSON"}
	}
	if dec.More() {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body has data after the JSON object"}
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, badRequest("request must be a JSON object")
	}
	if err := checkStorable(v, 0); err != nil {
		return nil, err
	}
	return marshalCompact(v)
}

func checkStorable(v any, depth int) error {
	if depth > maxJSONDepth {
		return badRequest("JSON is nested deeper than %d levels", maxJSONDepth)
	}
	switch v := v.(type) {
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			return badRequest("text must not contain NUL characters")
		}
	case json.Number:
		if !storableNumber(string(v)) {
			return badRequest("number %.40s is out of range", string(v))
		}
	case []any:
		for _, e := range v {
			if err := checkStorable(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range v {
			if err := checkStorable(k, depth+1); err != nil {
				return err
			}
			if err := checkStorable(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// storableNumber reports whether PostgreSQL's numeric takes s: a finite float64 whose decimal
// exponent is within ±300 (numeric refuses exponents beyond ±1000).
func storableNumber(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(s[i+1:])
		return err == nil && exp >= -300 && exp <= 300
	}
	return true
}

var decoders = map[string]func(params json.RawMessage, l Limits) (Request, error){
	"threads.create": func(p json.RawMessage, l Limits) (Request, error) {
		var v struct {
			Input *wireInput `json:"input"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, err
		}
		in, err := v.Input.validate(l)
		return &CreateThreadRequest{Input: in}, err
	},
	"threads.add_user_message": func(p json.RawMessage, l Limits) (Request, error) {
		var v struct {
			ThreadID *string    `json:"thread_id"`
			Input    *wireInput `json:"input"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, err
		}
		if err := required("thread_id", v.ThreadID); err != nil {
			return nil, err
		}
		in, err := v.Input.validate(l)
		return &AddUserMessageRequest{ThreadID: *v.ThreadID, Input: in}, err
	},
	"threads.add_client_tool_output": func(p json.RawMessage, _ Limits) (Request, error) {
		var v struct {
			ThreadID *string         `json:"thread_id"`
			Result   json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, err
		}
		if err := required("thread_id", v.ThreadID); err != nil {
			return nil, err
		}
		if len(v.Result) == 0 {
			return nil, badRequest("missing \"result\"")
		}
		return &AddClientToolOutputRequest{ThreadID: *v.ThreadID, Result: v.Result}, nil
	},
	"threads.add_structured_input": func(p json.RawMessage, _ Limits) (Request, error) {
		var v struct {
			ThreadID *string `json:"thread_id"`
			ItemID   *string `json:"item_id"`
			Input    *struct {
				Status  *string                   `json:"status"`
				Answers map[string]QuestionAnswer `json:"answers"`
			} `json:"input"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, err
		}
		if err := errors.Join(required("thread_id", v.ThreadID), required("item_id", v.ItemID)); err != nil {
			return nil, firstError(err)
		}
		if v.Input == nil {
			return nil, badRequest("missing \"input\"")
		}
		status := InputAnswered
		if v.Input.Status != nil {
			status = *v.Input.Status
		}
		if status != InputAnswered && status != InputSkipped {
			return nil, badRequest("input.status must be %q or %q", InputAnswered, InputSkipped)
		}
		return &AddStructuredInputRequest{ThreadID: *v.ThreadID, ItemID: *v.ItemID, Status: status, Answers: v.Input.Answers}, nil
	},
	"threads.retry_after_item": func(p json.RawMessage, _ Limits) (Request, error) {
		var v threadItemParams
		if err := v.decode(p); err != nil {
			return nil, err
		}
		return &RetryAfterItemRequest{ThreadID: *v.ThreadID, ItemID: *v.ItemID}, nil
	},
	"threads.custom_action":      decodeAction(false),
	"threads.sync_custom_action": decodeAction(true),
	"threads.get_by_id": func(p json.RawMessage, _ Limits) (Request, error) {
		id, err := decodeThreadID(p)
		return &GetThreadRequest{ThreadID: id}, err
	},
	"threads.list": func(p json.RawMessage, l Limits) (Request, error) {
		q, err := decodePage(p, l)
		return &ListThreadsRequest{Page: q}, err
	},
	"threads.update": func(p json.RawMessage, l Limits) (Request, error) {
		var v struct {
			ThreadID *string `json:"thread_id"`
			Title    *string `json:"title"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, err
		}
		if err := errors.Join(required("thread_id", v.ThreadID), required("title", v.Title)); err != nil {
			return nil, firstError(err)
		}
		title := strings.TrimSpace(*v.Title)
		if n := utf8.RuneCountInString(title); n > l.MaxTitleChars {
			return nil, badRequest("title is %d characters long; the limit is %d", n, l.MaxTitleChars)
		}
		return &UpdateThreadRequest{ThreadID: *v.ThreadID, Title: title}, nil
	},
	"threads.delete": func(p json.RawMessage, _ Limits) (Request, error) {
		id, err := decodeThreadID(p)
		return &DeleteThreadRequest{ThreadID: id}, err
	},
	"items.list": func(p json.RawMessage, l Limits) (Request, error) {
		id, err := decodeThreadID(p)
		if err != nil {
			return nil, err
		}
		q, err := decodePage(p, l)
		return &ListItemsRequest{ThreadID: id, Page: q}, err
	},
	"items.feedback": func(p json.RawMessage, _ Limits) (Request, error) {
		var v struct {
			ThreadID *string  `json:"thread_id"`
			ItemIDs  []string `json:"item_ids"`
			Kind     *string  `json:"kind"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, err
		}
		if err := errors.Join(required("thread_id", v.ThreadID), required("kind", v.Kind)); err != nil {
			return nil, firstError(err)
		}
		if *v.Kind != "positive" && *v.Kind != "negative" {
			return nil, badRequest("kind must be \"positive\" or \"negative\"")
		}
		if v.ItemIDs == nil {
			return nil, badRequest("missing \"item_ids\"")
		}
		if len(v.ItemIDs) > maxFeedbackItems {
			return nil, badRequest("at most %d item_ids", maxFeedbackItems)
		}
		return &FeedbackRequest{ThreadID: *v.ThreadID, ItemIDs: v.ItemIDs, Kind: *v.Kind}, nil
	},
	"attachments.create": unsupported("attachments.create"),
	"attachments.delete": unsupported("attachments.delete"),
	"input.transcribe":   unsupported("input.transcribe"),
}

func unsupported(typ string) func(json.RawMessage, Limits) (Request, error) {
	return func(json.RawMessage, Limits) (Request, error) { return &UnsupportedRequest{Type: typ}, nil }
}

func required(name string, v *string) error {
	if v == nil {
		return badRequest("missing %q", name)
	}
	return nil
}

// firstError unwraps errors.Join so the client reads one clear problem.
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()[0]
	}
	return err
}

type threadItemParams struct {
	ThreadID *string `json:"thread_id"`
	ItemID   *string `json:"item_id"`
}

func (v *threadItemParams) decode(p json.RawMessage) error {
	if err := json.Unmarshal(p, v); err != nil {
		return err
	}
	return firstError(errors.Join(required("thread_id", v.ThreadID), required("item_id", v.ItemID)))
}

func decodeThreadID(p json.RawMessage) (string, error) {
	var v struct {
		ThreadID *string `json:"thread_id"`
	}
	if err := json.Unmarshal(p, &v); err != nil {
		return "", err
	}
	if err := required("thread_id", v.ThreadID); err != nil {
		return "", err
	}
	return *v.ThreadID, nil
}

// decodePage reads limit/order/after. A missing, zero or negative limit is the default page
// size and a large one is clamped, as the reference does for 0 and null.
func decodePage(p json.RawMessage, l Limits) (PageQuery, error) {
	var v struct {
		Limit *int64  `json:"limit"`
		Order *string `json:"order"`
		After *string `json:"after"`
	}
	if err := json.Unmarshal(p, &v); err != nil {
		return PageQuery{}, err
	}
	q := PageQuery{Limit: DefaultPageSize, Order: Desc}
	if v.Limit != nil && *v.Limit > 0 {
		q.Limit = int(min(*v.Limit, int64(l.MaxPageSize)))
	}
	if v.Order != nil {
		switch Order(*v.Order) {
		case Asc, Desc:
			q.Order = Order(*v.Order)
		default:
			return PageQuery{}, badRequest("order must be \"asc\" or \"desc\"")
		}
	}
	if v.After != nil {
		q.After = *v.After
	}
	return q, nil
}

func decodeAction(sync bool) func(json.RawMessage, Limits) (Request, error) {
	return func(p json.RawMessage, _ Limits) (Request, error) {
		var v struct {
			ThreadID *string `json:"thread_id"`
			ItemID   *string `json:"item_id"`
			Action   *Action `json:"action"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, err
		}
		if err := required("thread_id", v.ThreadID); err != nil {
			return nil, err
		}
		if v.Action == nil || v.Action.Type == "" {
			return nil, badRequest("missing \"action.type\"")
		}
		r := CustomActionRequest{ThreadID: *v.ThreadID, Action: *v.Action}
		if v.ItemID != nil {
			r.ItemID = *v.ItemID
		}
		if sync {
			return (*SyncCustomActionRequest)(&r), nil
		}
		return &r, nil
	}
}

// wireInput is UserMessageInput as sent: content, attachments and inference_options are
// required keys (they may be empty), as in the reference.
type wireInput struct {
	Content          *[]UserContent    `json:"content"`
	Attachments      *[]string         `json:"attachments"`
	QuotedText       *string           `json:"quoted_text"`
	InferenceOptions *InferenceOptions `json:"inference_options"`
}

func (w *wireInput) validate(l Limits) (UserMessageInput, error) {
	switch {
	case w == nil:
		return UserMessageInput{}, badRequest("missing \"input\"")
	case w.Content == nil:
		return UserMessageInput{}, badRequest("missing \"input.content\"")
	case w.Attachments == nil:
		return UserMessageInput{}, badRequest("missing \"input.attachments\"")
	case w.InferenceOptions == nil:
		return UserMessageInput{}, badRequest("missing \"input.inference_options\"")
	case len(*w.Attachments) > 0:
		return UserMessageInput{}, notSupported("attachments")
	}
	in := UserMessageInput{Content: *w.Content, QuotedText: w.QuotedText, InferenceOptions: *w.InferenceOptions}
	return in, in.validate(l)
}

func (in UserMessageInput) validate(l Limits) error {
	l = l.withDefaults()
	if len(in.Content) == 0 {
		return badRequest("the message has no content")
	}
	chars := 0
	for i, c := range in.Content {
		switch c.Type {
		case ContentInputText:
		case ContentInputTag:
			if c.ID == "" {
				return badRequest("input.content[%d]: a tag needs an \"id\"", i)
			}
		default:
			return badRequest("input.content[%d]: unknown content type %q", i, c.Type)
		}
		chars += utf8.RuneCountInString(c.Text)
	}
	if in.QuotedText != nil {
		chars += utf8.RuneCountInString(*in.QuotedText)
	}
	if chars > l.MaxMessageChars {
		return &Error{Status: http.StatusBadRequest, Code: "message_too_long",
			Message: fmt.Sprintf("the message is %d characters long; the limit is %d", chars, l.MaxMessageChars)}
	}
	return nil
}
