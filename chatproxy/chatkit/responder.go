package chatkit

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// Responder is the assistant behind the protocol. The server calls Respond once per
// streaming request, after it has done the protocol's own part: the thread exists and is
// locked for this request, the new user message (if any) is stored and sent, and
// stream_options is sent. Respond then produces the assistant's side through s.
//
// The contract:
//   - Everything goes through s (Stream). It stores each item before its frame is sent
//     (persist-before-send), hides hidden items from the wire, keeps the thread's title, and
//     tracks pending assistant text so a stopped stream keeps what was already shown
//     (docs/chatkit-protocol.md §5.5). A responder never writes to the Store itself.
//   - ctx is cancelled when the client disconnects (stop button, closed tab) or the thread's
//     lock is lost; pass it to model and tool calls. After a disconnect the server stores
//     the pending text and a hidden note for the model; Respond just returns.
//   - Returning an error ends the stream with an error event: a *StreamError chooses the
//     event, anything else becomes a retryable stream.error (and is logged). Items already
//     done stay stored. Returning nil ends the stream normally.
//   - Respond must not keep s or turn after it returns.
type Responder interface {
	Respond(ctx context.Context, turn *Turn, s *Stream) error
}

// SyncActionResponder is implemented by responders that answer threads.sync_custom_action
// (widget actions with streaming:false). The returned item, if not nil, replaces the item
// with the same id: the server stores it and sends it back as {"updated_item": …}. A nil item
// answers {}. Without this interface such actions are answered 400 not_supported.
type SyncActionResponder interface {
	SyncAction(ctx context.Context, turn *Turn) (Item, error)
}

// HistoryReader is implemented by responders that read the thread's history at the start of
// a user message's turn, as Turn.History(ctx, HistoryItems()). The server then reads those
// items in the same database round trip that locks the thread and stores the message, and
// History answers from them instead of asking the store again.
type HistoryReader interface {
	HistoryItems() int
}

// ResponderFunc lets a function be a Responder.
type ResponderFunc func(ctx context.Context, turn *Turn, s *Stream) error

// Respond implements Responder.
func (f ResponderFunc) Respond(ctx context.Context, turn *Turn, s *Stream) error {
	return f(ctx, turn, s)
}

// Caller is who a request comes from, in transport-neutral form.
type Caller struct {
	// UserID is the verified subject; every store access is scoped to it.
	UserID string
	// Token is the bearer token the request came with ("" if none), for a responder that
	// forwards the user's own credentials to another service. Never log it.
	Token string
	// Locale is the client's Accept-Language (ChatKit sends its one active locale).
	Locale string
	// Header holds the HTTP request's headers (nil when the request did not come over
	// HTTP), for values a page's custom fetch adds, such as a time zone.
	Header http.Header
}

// TurnKind says why the responder is being asked to speak.
type TurnKind string

// Turn kinds.
const (
	// TurnUserMessage: threads.create or add_user_message; Input is the new user message.
	TurnUserMessage TurnKind = "user_message"
	// TurnRetry: threads.retry_after_item; Input is the user message to answer again, and
	// everything after it has been deleted.
	TurnRetry TurnKind = "retry"
	// TurnClientToolOutput: the browser answered a client tool call; ToolCall is the call,
	// now completed with its Output. Continue the answer.
	TurnClientToolOutput TurnKind = "client_tool_output"
	// TurnStructuredInput: the user answered (or skipped) a structured_input item;
	// StructuredInput is it, already stored and sent as replaced.
	TurnStructuredInput TurnKind = "structured_input"
	// TurnAction: a widget action; Action is it and Sender the widget it came from (nil
	// when the client sent none). Payloads are untrusted input.
	TurnAction TurnKind = "action"
)

// Turn is what a responder gets to work with: why it runs, what came in, and the thread's
// history. Fields that do not belong to Kind are nil.
type Turn struct {
	Kind   TurnKind
	Caller Caller
	// Thread is the thread as it was when the turn began; Stream.Thread has changes made
	// since (e.g. a new title).
	Thread *Thread

	Input           *UserMessageItem
	ToolCall        *ClientToolCallItem
	StructuredInput *StructuredInputItem
	Action          *Action
	Sender          *WidgetItem

	store  Store
	stream *Stream // nil outside a streaming request
}

// Items pages through the thread's stored items, hidden ones included (they are model
// context: earlier tool calls and results, the note that the user stopped an answer).
func (t *Turn) Items(ctx context.Context, q PageQuery) (Page[Item], error) {
	if q.Limit <= 0 {
		q.Limit = DefaultPageSize
	}
	if q.Order == "" {
		q.Order = Desc
	}
	p, err := t.store.LoadItems(ctx, t.Caller.UserID, t.Thread.ID, q)
	if err != nil {
		return Page[Item]{}, fmt.Errorf("load items of thread %s: %w", t.Thread.ID, err)
	}
	return p, nil
}

// History returns the newest max items of the thread, oldest first, hidden ones included:
// the usual model input. It includes this turn's Input. The items are read-only: they may be
// shared with other turns of the thread (see LockedThread.Recent).
func (t *Turn) History(ctx context.Context, max int) ([]Item, error) {
	if t.stream != nil {
		if items, ok := t.stream.takeRecent(max); ok {
			return items, nil
		}
	}
	var items []Item
	q := PageQuery{Order: Desc}
	for len(items) < max {
		q.Limit = min(max-len(items), DefaultMaxPageSize)
		p, err := t.Items(ctx, q)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Data...)
		if !p.HasMore {
			break
		}
		q.After = p.After
	}
	slices.Reverse(items)
	return items, nil
}

// Item loads one item of the thread (hidden ones included), ErrNotFound when there is none.
func (t *Turn) Item(ctx context.Context, itemID string) (Item, error) {
	item, err := t.store.LoadItem(ctx, t.Caller.UserID, t.Thread.ID, itemID)
	if err != nil {
		return nil, fmt.Errorf("load item %s of thread %s: %w", itemID, t.Thread.ID, err)
	}
	return item, nil
}

// SaveHidden stores (upserts by id) a hidden item of the thread: state a responder keeps
// beside the items it shows, such as what a widget was built from. It exists for
// threads.sync_custom_action, which has no Stream; hidden items are never sent, so storing
// one outside a Stream cannot break persist-before-send.
func (t *Turn) SaveHidden(ctx context.Context, item *HiddenContextItem) error {
	b := item.Base()
	if b.ID == "" {
		b.ID = NewID(PrefixHiddenContext)
	}
	b.ThreadID = t.Thread.ID
	if b.CreatedAt.IsZero() {
		b.CreatedAt = Now()
	}
	if err := t.store.SaveItem(ctx, t.Caller.UserID, t.Thread.ID, item); err != nil {
		return fmt.Errorf("store hidden item %s: %w", b.ID, err)
	}
	return nil
}
