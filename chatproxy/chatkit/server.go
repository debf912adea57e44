package chatkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"

	"github.com/taskwire/taskwire/internal/httpedge"
)

// Options configure a Server.
type Options struct {
	Store     Store     // required
	Responder Responder // required
	Logger    *slog.Logger
	Limits    Limits
	// DisableCancel hides the client's stop button (stream_options.allow_cancel=false).
	DisableCancel bool
}

// Server runs the ChatKit protocol over a Store and a Responder. It is an http.Handler for
// the single ChatKit endpoint (POST, user from auth.UserFrom), and its Stream and Call
// methods run requests without HTTP — e.g. POST /api/chat runs a turn into a Collector.
type Server struct {
	store         Store
	responder     Responder
	log           *slog.Logger
	limits        Limits
	disableCancel bool
	// history is how many items the responder reads at the start of a user message's turn
	// (HistoryReader); the server reads them with the thread's lock.
	history int
}

// NewServer checks o and builds a Server.
func NewServer(o Options) (*Server, error) {
	if o.Store == nil || o.Responder == nil {
		return nil, errors.New("chatkit: a Store and a Responder are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{store: o.Store, responder: o.Responder, log: o.Logger, limits: o.Limits.withDefaults(), disableCancel: o.DisableCancel}
	if hr, ok := o.Responder.(HistoryReader); ok {
		s.history = max(hr.HistoryItems(), 0)
	}
	return s, nil
}

// Stream runs one streaming request for c, sending its events to sink. Every problem found
// before the first event (bad input, unknown or foreign thread or item, a busy thread) is
// returned as an *Error and nothing is sent or stored. Once events flow, failures become
// error events and Stream returns nil; it returns when the response is complete.
func (s *Server) Stream(ctx context.Context, c Caller, req StreamingRequest, sink Sink) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	switch r := req.(type) {
	case *CreateThreadRequest:
		if err := r.Input.validate(s.limits); err != nil {
			return err
		}
		thread := &Thread{ID: NewID(PrefixThread), CreatedAt: Now(), Status: ThreadStatus{Type: StatusActive}}
		first := newUserMessage(r.Input)
		first.ID, first.ThreadID, first.CreatedAt = NewID(PrefixMessage), thread.ID, Now()
		if err := s.store.CreateThread(ctx, c.UserID, thread, first); err != nil {
			return fmt.Errorf("create thread: %w", err)
		}
		return s.withThread(ctx, cancel, c, thread.ID, sink, TurnStart{Recent: s.history}, func(st *Stream, t *Thread) (*Turn, error) {
			if err := st.sendMaybeHeld(ThreadCreated{Thread: t.Clone()}, true); err != nil {
				return nil, err
			}
			return s.sendUserMessage(st, first) // stored with the thread
		})
	case *AddUserMessageRequest:
		if err := r.Input.validate(s.limits); err != nil {
			return err
		}
		// The message is stored, and the history read, in the round trip that locks the
		// thread.
		var msg *UserMessageItem
		start := TurnStart{Recent: s.history, NewItem: func() Item {
			msg = newUserMessage(r.Input)
			msg.ID, msg.ThreadID, msg.CreatedAt = NewID(PrefixMessage), r.ThreadID, Now()
			return msg
		}}
		return s.withThread(ctx, cancel, c, r.ThreadID, sink, start, func(st *Stream, t *Thread) (*Turn, error) {
			return s.sendUserMessage(st, msg)
		})
	case *AddClientToolOutputRequest:
		return s.withThread(ctx, cancel, c, r.ThreadID, sink, TurnStart{}, func(st *Stream, t *Thread) (*Turn, error) {
			call, err := s.completeToolCall(ctx, c.UserID, t.ID, r.Result)
			if err != nil {
				return nil, err
			}
			return &Turn{Kind: TurnClientToolOutput, ToolCall: call}, nil
		})
	case *AddStructuredInputRequest:
		return s.withThread(ctx, cancel, c, r.ThreadID, sink, TurnStart{}, func(st *Stream, t *Thread) (*Turn, error) {
			item, err := s.answerStructuredInput(ctx, c.UserID, t.ID, r)
			if err != nil {
				return nil, err
			}
			return &Turn{Kind: TurnStructuredInput, StructuredInput: item}, nil
		})
	case *RetryAfterItemRequest:
		return s.withThread(ctx, cancel, c, r.ThreadID, sink, TurnStart{}, func(st *Stream, t *Thread) (*Turn, error) {
			item, err := s.store.LoadItem(ctx, c.UserID, t.ID, r.ItemID)
			if err != nil {
				return nil, storeError(err, "item "+r.ItemID)
			}
			user, ok := item.(*UserMessageItem)
			if !ok {
				return nil, badRequest("only a user message can be retried; %s is a %s", r.ItemID, item.ItemType())
			}
			if err := s.store.DeleteItemsAfter(ctx, c.UserID, t.ID, user.ID); err != nil {
				return nil, fmt.Errorf("delete items after %s: %w", user.ID, err)
			}
			return &Turn{Kind: TurnRetry, Input: user}, nil
		})
	case *CustomActionRequest:
		return s.withThread(ctx, cancel, c, r.ThreadID, sink, TurnStart{}, func(st *Stream, t *Thread) (*Turn, error) {
			sender, err := s.actionSender(ctx, c.UserID, t.ID, r.ItemID)
			if errors.Is(err, errNotWidget) {
				// The reference answers exactly one error frame, without stream_options.
				return nil, st.send(ErrorEvent{Code: ErrorCodeStream})
			}
			if err != nil {
				return nil, err
			}
			action := r.Action
			return &Turn{Kind: TurnAction, Action: &action, Sender: sender}, nil
		})
	}
	return badRequest("%s is not a streaming request", req.RequestType())
}

// withThread locks the thread (doing start's work in the same round trip), runs prepare (the
// request's own pre-work, which may still refuse with an *Error as long as it has sent
// nothing) and then the response pipeline.
func (s *Server) withThread(ctx context.Context, cancel context.CancelCauseFunc, c Caller, threadID string, sink Sink,
	start TurnStart, prepare func(*Stream, *Thread) (*Turn, error)) error {
	locked, err := s.store.LockThread(ctx, c.UserID, threadID, start)
	if err != nil {
		return storeError(err, "thread "+threadID)
	}
	defer locked.Release()
	go func() {
		select {
		case <-locked.Lost():
			cancel(errLockLost)
		case <-ctx.Done():
		}
	}()
	thread := locked.Thread
	st := newStream(ctx, cancel, s.store, c.UserID, thread, sink)
	st.lock = locked.ThreadLock
	if start.Recent > 0 {
		st.recent = &locked.Recent
	}
	turn, err := prepare(st, thread.Clone())
	if err != nil && st.sent && st.gone == nil {
		// Too late for an HTTP status: the stream has begun.
		s.log.ErrorContext(ctx, "chatkit request failed mid-stream", "thread", threadID, "error", err)
		_ = st.send(ErrorEvent{Code: ErrorCodeStream, AllowRetry: true})
		return nil
	}
	if err != nil || turn == nil {
		return err
	}
	turn.Caller, turn.Thread, turn.store, turn.stream = c, thread.Clone(), s.store, st
	s.respond(ctx, st, turn)
	return nil
}

// DrainingMessage ends a stream cut short by a server shutdown; what had been written is
// stored, and the client may send its message again (another replica will answer).
const DrainingMessage = "The server is restarting; the answer so far is saved. Send your message again in a moment."

// errLockLost cancels a turn whose thread lock expired or was taken over.
var errLockLost = errors.New("lost the thread lock")

// newUserMessage is the item a user's input becomes.
func newUserMessage(in UserMessageInput) *UserMessageItem {
	return &UserMessageItem{
		Content:          in.Content,
		Attachments:      []Attachment{},
		QuotedText:       in.QuotedText,
		InferenceOptions: in.InferenceOptions,
	}
}

// sendUserMessage sends a user's message, already stored, and makes it the turn's input.
// stream_options follows at once (respond), so the frame waits for that one's write.
func (s *Server) sendUserMessage(st *Stream, item *UserMessageItem) (*Turn, error) {
	if err := st.sendStored(ItemDone{Item: item}, true); err != nil {
		return nil, err
	}
	return &Turn{Kind: TurnUserMessage, Input: item}, nil
}

// respond is the response pipeline: stream_options, the responder's events, and the ending —
// an error event, or after a disconnect the kept pending text and the cancellation note.
func (s *Server) respond(ctx context.Context, st *Stream, turn *Turn) {
	if err := st.send(StreamOptions{AllowCancel: !s.disableCancel}); err != nil {
		s.finishCancelled(st)
		return
	}
	if turn.StructuredInput != nil {
		if err := st.Emit(ItemReplaced{Item: turn.StructuredInput}); err != nil {
			s.finish(ctx, st, err)
			return
		}
	}
	err := s.callResponder(ctx, st, turn)
	s.finish(ctx, st, err)
}

func (s *Server) callResponder(ctx context.Context, st *Stream, turn *Turn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("responder panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return s.responder.Respond(ctx, turn, st)
}

// finish ends a turn after the responder returned err (nil: success).
func (s *Server) finish(ctx context.Context, st *Stream, err error) {
	cause := context.Cause(ctx)
	switch {
	case cause != nil && !errors.Is(cause, errLockLost):
		s.finishCancelled(st)
		if errors.Is(cause, httpedge.ErrDraining) { // the client is still there: tell it why
			_ = st.send(ErrorEvent{Code: ErrorCodeCustom, Message: DrainingMessage, AllowRetry: true})
		}
		return
	case errors.Is(cause, errLockLost):
		s.log.WarnContext(ctx, "chatkit turn stopped: thread lock lost", "thread", st.thread.ID)
		_ = st.send(ErrorEvent{Code: ErrorCodeStream, AllowRetry: true})
		return
	case err == nil:
		return
	}
	var se *StreamError
	if errors.As(err, &se) {
		_ = st.send(ErrorEvent{Code: se.Code, Message: se.Message, AllowRetry: se.AllowRetry})
		return
	}
	s.log.ErrorContext(ctx, "chatkit turn failed", "thread", st.thread.ID, "error", err)
	_ = st.send(ErrorEvent{Code: ErrorCodeStream, AllowRetry: true})
}

func (s *Server) finishCancelled(st *Stream) {
	if err := st.keepAfterCancel(); err != nil {
		s.log.Error("chatkit: keeping a stopped answer failed", "thread", st.thread.ID, "error", err)
	}
}

// completeToolCall finds the newest pending client tool call among the newest page of items
// (tolerating hidden items after it, unlike the reference), completes it with result and
// drops any other pending calls in that page.
func (s *Server) completeToolCall(ctx context.Context, userID, threadID string, result []byte) (*ClientToolCallItem, error) {
	page, err := s.store.LoadItems(ctx, userID, threadID, PageQuery{Limit: DefaultPageSize, Order: Desc})
	if err != nil {
		return nil, fmt.Errorf("load items of thread %s: %w", threadID, err)
	}
	var call *ClientToolCallItem
	for _, item := range page.Data {
		tc, ok := item.(*ClientToolCallItem)
		if !ok || tc.Status != ToolCallPending {
			continue
		}
		if call == nil {
			call = tc
			continue
		}
		if err := s.store.DeleteItem(ctx, userID, threadID, tc.ID); err != nil {
			return nil, fmt.Errorf("drop stale tool call %s: %w", tc.ID, err)
		}
	}
	if call == nil {
		return nil, badRequest("the thread has no pending client tool call")
	}
	call.Status, call.Output = ToolCallCompleted, orEmptyObject(result)
	if err := s.store.SaveItem(ctx, userID, threadID, call); err != nil {
		return nil, fmt.Errorf("complete tool call %s: %w", call.ID, err)
	}
	return call, nil
}

// answerStructuredInput applies a submission to a pending structured_input item
// (docs/chatkit-protocol.md §2.4): skipped when the submission or the answer says so or has no
// values; single-select answers keep their first value; unknown question ids are ignored.
func (s *Server) answerStructuredInput(ctx context.Context, userID, threadID string, r *AddStructuredInputRequest) (*StructuredInputItem, error) {
	item, err := s.store.LoadItem(ctx, userID, threadID, r.ItemID)
	if err != nil {
		return nil, storeError(err, "item "+r.ItemID)
	}
	si, ok := item.(*StructuredInputItem)
	if !ok || si.Status != InputPending {
		return nil, badRequest("item %s is not a pending structured input", r.ItemID)
	}
	for i := range si.Inputs {
		q := &si.Inputs[i]
		a, given := r.Answers[q.ID]
		if r.Status == InputSkipped || !given || a.Skipped || len(a.Values) == 0 {
			q.Answer = &QuestionAnswer{Values: []string{}, Skipped: true}
			continue
		}
		values := slices.Clone(a.Values)
		if q.Type == QuestionMultipleChoice && !q.Multiple {
			values = values[:1]
		}
		q.Answer = &QuestionAnswer{Values: values}
	}
	si.Status = r.Status
	return si, nil
}

var errNotWidget = errors.New("the action's item is not a widget")

// actionSender loads the widget an action came from ("" → none).
func (s *Server) actionSender(ctx context.Context, userID, threadID, itemID string) (*WidgetItem, error) {
	if itemID == "" {
		return nil, nil
	}
	item, err := s.store.LoadItem(ctx, userID, threadID, itemID)
	if err != nil {
		return nil, storeError(err, "item "+itemID)
	}
	w, ok := item.(*WidgetItem)
	if !ok {
		return nil, errNotWidget
	}
	return w, nil
}

// Call runs one non-streaming request for c and returns the JSON document to answer with.
// Client mistakes are *Error values; other errors are internal.
func (s *Server) Call(ctx context.Context, c Caller, req Request) (any, error) {
	user := c.UserID
	switch r := req.(type) {
	case *GetThreadRequest:
		t, err := s.store.LoadThread(ctx, user, r.ThreadID)
		if err != nil {
			return nil, storeError(err, "thread "+r.ThreadID)
		}
		items, err := s.visibleItems(ctx, user, t.ID, PageQuery{Limit: DefaultPageSize, Order: Asc})
		if err != nil {
			return nil, err
		}
		return t.wire(items), nil
	case *ListThreadsRequest:
		page, err := s.store.LoadThreads(ctx, user, r.Page)
		if err != nil {
			return nil, storeError(err, "thread "+r.Page.After)
		}
		out := Page[wireThread]{Data: make([]wireThread, 0, len(page.Data)), HasMore: page.HasMore, After: page.After}
		for _, t := range page.Data {
			out.Data = append(out.Data, t.wire(Page[Item]{}))
		}
		return out, nil
	case *UpdateThreadRequest:
		t, err := s.store.LoadThread(ctx, user, r.ThreadID)
		if err != nil {
			return nil, storeError(err, "thread "+r.ThreadID)
		}
		t.Title = &r.Title
		if r.Title == "" {
			t.Title = nil
		}
		if err := s.store.SaveThread(ctx, user, t); err != nil {
			return nil, storeError(err, "thread "+r.ThreadID)
		}
		return t.wire(Page[Item]{}), nil
	case *DeleteThreadRequest:
		if err := s.store.DeleteThread(ctx, user, r.ThreadID); err != nil {
			return nil, storeError(err, "thread "+r.ThreadID)
		}
		return emptyObject, nil
	case *ListItemsRequest:
		if _, err := s.store.LoadThread(ctx, user, r.ThreadID); err != nil {
			return nil, storeError(err, "thread "+r.ThreadID)
		}
		return s.visibleItems(ctx, user, r.ThreadID, r.Page)
	case *FeedbackRequest:
		if _, err := s.store.LoadThread(ctx, user, r.ThreadID); err != nil {
			return nil, storeError(err, "thread "+r.ThreadID)
		}
		ids := slices.Compact(slices.Sorted(slices.Values(r.ItemIDs)))
		n, err := s.store.CountItems(ctx, user, r.ThreadID, ids)
		if err != nil {
			return nil, fmt.Errorf("check feedback items: %w", err)
		}
		if n != len(ids) {
			return nil, notFound("item")
		}
		s.log.InfoContext(ctx, "chatkit feedback", "thread", r.ThreadID, "items", len(ids), "kind", r.Kind)
		return emptyObject, nil
	case *SyncCustomActionRequest:
		return s.syncAction(ctx, c, r)
	case *UnsupportedRequest:
		return nil, notSupported(r.Type)
	}
	return nil, badRequest("%s is a streaming request", req.RequestType())
}

func (s *Server) syncAction(ctx context.Context, c Caller, r *SyncCustomActionRequest) (any, error) {
	sr, ok := s.responder.(SyncActionResponder)
	if !ok {
		return nil, notSupported("threads.sync_custom_action")
	}
	t, err := s.store.LoadThread(ctx, c.UserID, r.ThreadID)
	if err != nil {
		return nil, storeError(err, "thread "+r.ThreadID)
	}
	sender, err := s.actionSender(ctx, c.UserID, t.ID, r.ItemID)
	if errors.Is(err, errNotWidget) {
		return nil, badRequest("item %s is not a widget", r.ItemID)
	}
	if err != nil {
		return nil, err
	}
	action := r.Action
	turn := &Turn{Kind: TurnAction, Caller: c, Thread: t, Action: &action, Sender: sender, store: s.store}
	item, err := sr.SyncAction(ctx, turn)
	if err != nil {
		var se *StreamError
		if errors.As(err, &se) && se.Message != "" {
			return nil, badRequest("%s", se.Message)
		}
		return nil, fmt.Errorf("sync action %s: %w", r.Action.Type, err)
	}
	if item == nil {
		return emptyObject, nil
	}
	b := item.Base()
	if b.ID == "" {
		return nil, errors.New("sync action returned an item without an id")
	}
	b.ThreadID = t.ID
	if b.CreatedAt.IsZero() {
		b.CreatedAt = Now()
	}
	if err := s.store.SaveItem(ctx, c.UserID, t.ID, item); err != nil {
		return nil, storeError(err, "item "+b.ID)
	}
	return struct {
		UpdatedItem Item `json:"updated_item"`
	}{item}, nil
}

// visibleItems is a page with hidden items removed after paging, as the reference does. The
// cursor stays the store's, so following it still visits every item once; a page that hid
// everything is skipped rather than returned empty with has_more.
func (s *Server) visibleItems(ctx context.Context, user, threadID string, q PageQuery) (Page[Item], error) {
	for {
		page, err := s.store.LoadItems(ctx, user, threadID, q)
		if err != nil {
			return Page[Item]{}, storeError(err, "item "+q.After)
		}
		visible := slices.DeleteFunc(page.Data, IsHidden)
		if len(visible) > 0 || !page.HasMore {
			return Page[Item]{Data: nonNil(visible), HasMore: page.HasMore, After: page.After}, nil
		}
		q.After = page.After
	}
}
