package chatkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// CancelledNote is the hidden context stored when the user stops an answer, so the model
// does not pick the old request up again next turn.
const CancelledNote = "The user stopped the previous response before it finished. Do not continue or repeat it; answer only what the user asks next."

// Stream is a responder's only way to produce output during a turn. It applies the
// protocol's persistence rules (docs/chatkit-protocol.md §5.2) before each frame is sent:
//
//   - ItemAdded: the item is remembered as pending (not stored);
//   - ItemUpdated: text deltas, content parts, annotations and workflow tasks are applied
//     to the pending copy, which is what a stopped stream keeps;
//   - ItemDone / ItemReplaced: the item is stored (upsert), then sent — hidden items are
//     stored and never sent;
//   - ItemRemoved: the item is deleted, then the frame is sent.
//
// Items may leave ID, ThreadID and CreatedAt empty; the Stream fills them in (on the item the
// caller passed, so the caller sees the id). All methods are safe to call from several
// goroutines (e.g. parallel tool calls). Once the client has gone every method returns an
// error, so a responder stops at its next write.
type Stream struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	store  Store
	userID string
	sink   Sink

	mu      sync.Mutex
	thread  *Thread
	pending map[string]*pendingItem
	order   []string // pending ids in the order they were added
	gone    error    // why the client can no longer be written to
	sent    bool     // a frame has gone out: errors can no longer be HTTP statuses
	// hold: the frame being sent is followed at once by another, so it is written without
	// a flush of its own (one write to the client instead of two; see heldSink).
	hold bool
	// recent is the thread's newest items (newest first) read with the lock, which
	// Turn.History answers from once, as long as nothing has been written since.
	recent *Page[Item]
	// lock is the thread's lock (nil in tests that stream without one). ending: the item
	// being stored is the turn's last output, stored as the lock is given back; ended:
	// that happened, and nothing more may be stored.
	lock          ThreadLock
	ending, ended bool
}

// errTurnEnded refuses a write after the turn's last output (MessageWriter.DoneLast).
var errTurnEnded = errors.New("chatkit: the turn has ended (DoneLast); nothing more can be written")

// errClientGone is the cancel cause when a frame could not be written.
var errClientGone = errors.New("client disconnected")

func newStream(ctx context.Context, cancel context.CancelCauseFunc, store Store, userID string, thread *Thread, sink Sink) *Stream {
	return &Stream{ctx: ctx, cancel: cancel, store: store, userID: userID, thread: thread, sink: sink, pending: map[string]*pendingItem{}}
}

// Thread returns a copy of the thread as it is now (including changes made this turn).
func (s *Stream) Thread() *Thread {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.thread.Clone()
}

// Emit applies the persistence rules to ev and sends it. thread.created, thread.updated and
// stream_options are the server's to send: use UpdateThread for the thread.
func (s *Stream) Emit(ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emitLocked(ev)
}

func (s *Stream) emitLocked(ev Event) error {
	if s.gone != nil {
		return s.gone
	}
	if s.ended {
		return errTurnEnded
	}
	if err := context.Cause(s.ctx); err != nil {
		return err
	}
	switch e := ev.(type) {
	case ItemAdded:
		if e.Item == nil || IsHidden(e.Item) {
			return errors.New("chatkit: thread.item.added needs a visible item (hidden items are only ever done)")
		}
		s.prepare(e.Item)
		p, err := newPendingItem(e.Item)
		if err != nil {
			return err
		}
		id := e.Item.Base().ID
		if _, dup := s.pending[id]; !dup {
			s.order = append(s.order, id)
		}
		s.pending[id] = p
	case ItemUpdated:
		if p := s.pending[e.ItemID]; p != nil {
			p.apply(e.Update)
		}
	case ItemDone:
		if err := s.save(e.Item); err != nil {
			return err
		}
		if IsHidden(e.Item) {
			if hs, ok := s.sink.(HiddenItemSink); ok {
				hs.Hidden(e.Item)
			}
			return nil
		}
	case ItemReplaced:
		if err := s.save(e.Item); err != nil {
			return err
		}
		if IsHidden(e.Item) {
			return nil
		}
	case ItemRemoved:
		s.recent = nil
		if err := s.store.DeleteItem(s.ctx, s.userID, s.thread.ID, e.ItemID); err != nil {
			return fmt.Errorf("delete item %s: %w", e.ItemID, err)
		}
		s.forget(e.ItemID)
	case ThreadCreated, ThreadUpdated, StreamOptions:
		return fmt.Errorf("chatkit: %s is sent by the server; use Stream.UpdateThread", ev.EventType())
	case nil:
		return errors.New("chatkit: nil event")
	}
	return s.send(ev)
}

// sendStored sends an item event whose item the server has already stored (e.g. with the
// thread's lock), applying Emit's checks but not storing it again. held: the server sends
// another frame right after it.
func (s *Stream) sendStored(ev Event, held bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return s.gone
	}
	if err := context.Cause(s.ctx); err != nil {
		return err
	}
	return s.sendMaybeHeld(ev, held)
}

// sendMaybeHeld sends ev, without a flush of its own when held.
func (s *Stream) sendMaybeHeld(ev Event, held bool) error {
	s.hold = held
	defer func() { s.hold = false }()
	return s.send(ev)
}

// takeRecent returns the newest max items read with the lock, oldest first, if they answer
// for the thread as it is now: nothing has been written since, and they hold max items or
// the whole thread. They are handed out once.
func (s *Stream) takeRecent(max int) ([]Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recent
	s.recent = nil
	if r == nil || (len(r.Data) < max && r.HasMore) {
		return nil, false
	}
	items := slices.Clone(r.Data[:min(max, len(r.Data))])
	slices.Reverse(items)
	return items, true
}

// heldSink is a Sink that can write a frame without flushing it, when the server knows the
// next frame follows at once: the next flush, or the end of the response, sends both.
type heldSink interface {
	sendHeld(ev Event) error
}

// send writes one frame; a failed write means the client is gone and cancels the turn.
func (s *Stream) send(ev Event) error {
	var err error
	if hs, ok := s.sink.(heldSink); ok && s.hold {
		err = hs.sendHeld(ev)
	} else {
		err = s.sink.Send(ev)
	}
	if err != nil {
		s.gone = fmt.Errorf("%w: %w", errClientGone, err)
		s.cancel(s.gone)
		return s.gone
	}
	s.sent = true
	return nil
}

// prepare fills in what a responder may leave out and pins the item to this thread.
func (s *Stream) prepare(item Item) {
	b := item.Base()
	if b.ID == "" {
		b.ID = NewID(itemPrefix(item))
	}
	b.ThreadID = s.thread.ID
	if b.CreatedAt.IsZero() {
		b.CreatedAt = Now()
	} else {
		b.CreatedAt = normalizeTime(b.CreatedAt)
	}
}

func (s *Stream) save(item Item) error {
	if item == nil {
		return errors.New("chatkit: nil item")
	}
	s.prepare(item)
	s.recent = nil
	var err error
	if s.ending && s.lock != nil {
		err = s.lock.ReleaseWith(s.ctx, item)
		s.ended = err == nil
	} else {
		err = s.store.SaveItem(s.ctx, s.userID, s.thread.ID, item)
	}
	if err != nil {
		return fmt.Errorf("store %s %s: %w", item.ItemType(), item.Base().ID, err)
	}
	s.forget(item.Base().ID)
	return nil
}

func (s *Stream) forget(id string) {
	if _, ok := s.pending[id]; ok {
		delete(s.pending, id)
		s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == id })
	}
}

// UpdateThread changes the thread (title, status, allowed image domains, private metadata),
// stores it and sends thread.updated. The id and creation time cannot change.
func (s *Stream) UpdateThread(change func(t *Thread)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return s.gone
	}
	if s.ended {
		return errTurnEnded
	}
	next := s.thread.Clone()
	change(next)
	next.ID, next.CreatedAt = s.thread.ID, s.thread.CreatedAt
	if err := s.store.SaveThread(s.ctx, s.userID, next); err != nil {
		return fmt.Errorf("save thread %s: %w", next.ID, err)
	}
	s.thread = next
	return s.send(ThreadUpdated{Thread: next.Clone()})
}

// SetTitle names the thread (shown in the history list) and sends thread.updated.
func (s *Stream) SetTitle(title string) error {
	return s.UpdateThread(func(t *Thread) { t.Title = &title })
}

// AddItem stores a finished item and sends it (thread.item.done), e.g. a widget or a client
// tool call. Hidden items are stored only.
func (s *Stream) AddItem(item Item) error { return s.Emit(ItemDone{Item: item}) }

// AddHidden stores model-only context (anything that encodes as JSON, e.g. a tool call and
// its result) as a hidden_context_item. The client never sees it; Turn.History returns it.
func (s *Stream) AddHidden(content any) (*HiddenContextItem, error) {
	raw, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("encode hidden context: %w", err)
	}
	item := &HiddenContextItem{Content: raw}
	return item, s.AddItem(item)
}

// Progress shows a transient status line such as "Searching…" (icon may be empty).
func (s *Stream) Progress(icon, text string) error {
	return s.Emit(ProgressUpdate{Icon: icon, Text: text})
}

// Notice shows a banner; level is NoticeInfo, NoticeWarning or NoticeDanger.
func (s *Stream) Notice(level, message, title string) error {
	return s.Emit(Notice{Level: level, Message: message, Title: title})
}

// Effect sends a client_effect for the host page, e.g. Effect("tasks.changed", map[…]).
func (s *Stream) Effect(name string, data any) error {
	return s.Emit(ClientEffect{Name: name, Data: data})
}

// Error sends an error event and lets the responder go on (rarely wanted; usually return a
// *StreamError from Respond instead, which ends the turn).
func (s *Stream) Error(e *StreamError) error {
	return s.Emit(ErrorEvent{Code: e.Code, Message: e.Message, AllowRetry: e.AllowRetry})
}

// MessageWriter streams one assistant message (one output_text part).
type MessageWriter struct {
	s    *Stream
	item *AssistantMessageItem
}

// StartMessage begins an assistant message: thread.item.added with empty content, then
// content_part.added for part 0. Follow with Delta calls and one Done.
func (s *Stream) StartMessage() (*MessageWriter, error) { return s.StartMessageWith("") }

// StartMessageWith is StartMessage followed by Delta(text), the three frames reaching the
// client in one write: for a responder that starts a message when its first text arrives,
// as a streamed model answer does.
func (s *Stream) StartMessageWith(text string) (*MessageWriter, error) {
	item := &AssistantMessageItem{Content: []OutputText{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = true
	err := s.emitLocked(ItemAdded{Item: item})
	if err == nil {
		s.hold = text != ""
		err = s.emitLocked(ItemUpdated{ItemID: item.ID, Update: ContentPartAdded{Content: OutputText{}}})
	}
	s.hold = false
	if err == nil && text != "" {
		err = s.emitLocked(ItemUpdated{ItemID: item.ID, Update: TextDelta{Delta: text}})
	}
	if err != nil {
		return nil, err
	}
	return &MessageWriter{s: s, item: item}, nil
}

// ID is the message's item id.
func (m *MessageWriter) ID() string { return m.item.ID }

// Delta appends text (empty text sends nothing).
func (m *MessageWriter) Delta(text string) error {
	if text == "" {
		return nil
	}
	return m.s.Emit(ItemUpdated{ItemID: m.item.ID, Update: TextDelta{Delta: text}})
}

// Text is what has been streamed so far.
func (m *MessageWriter) Text() string {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if p := m.s.pending[m.item.ID]; p != nil {
		return p.text(0)
	}
	return m.item.Text()
}

// Done ends the message: content_part.done with the full text, then thread.item.done (the
// message is stored before that frame is sent). It returns the stored item.
func (m *MessageWriter) Done() (*AssistantMessageItem, error) { return m.done(false) }

// DoneLast is Done for the turn's last output: the message is stored and the thread given
// back in one round trip (ThreadLock.ReleaseWith), a round trip fewer before the stream
// ends. Every later write of the turn fails; the responder returns next, and also when
// DoneLast fails (the lock is no longer renewed).
func (m *MessageWriter) DoneLast() (*AssistantMessageItem, error) { return m.done(true) }

func (m *MessageWriter) done(last bool) (*AssistantMessageItem, error) {
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[m.item.ID]
	if p == nil {
		return nil, fmt.Errorf("chatkit: message %s is not pending (already done?)", m.item.ID)
	}
	final := p.materialize().(*AssistantMessageItem)
	if len(final.Content) == 0 {
		final.Content = []OutputText{{}}
	}
	// Held: thread.item.done follows as soon as the message is stored.
	s.hold = true
	err := s.emitLocked(ItemUpdated{ItemID: final.ID, Update: ContentPartDone{Content: final.Content[0]}})
	s.hold = false
	if err != nil {
		return nil, err
	}
	s.ending = last
	err = s.emitLocked(ItemDone{Item: final})
	s.ending = false
	if err != nil {
		return nil, err
	}
	m.item = final
	return final, nil
}

// WorkflowWriter shows work in progress as a workflow item with tasks, e.g. one task per tool
// call going from loading to complete.
type WorkflowWriter struct {
	s         *Stream
	id        string
	startedAt time.Time
}

// StartWorkflow sends a new, empty custom workflow (thread.item.added). expanded chooses
// whether the client shows its tasks open.
func (s *Stream) StartWorkflow(expanded bool) (*WorkflowWriter, error) {
	item := &WorkflowItem{Workflow: Workflow{Type: WorkflowCustom, Tasks: []Task{}, Expanded: expanded}}
	if err := s.Emit(ItemAdded{Item: item}); err != nil {
		return nil, err
	}
	return &WorkflowWriter{s: s, id: item.ID, startedAt: time.Now()}, nil
}

// ID is the workflow's item id.
func (w *WorkflowWriter) ID() string { return w.id }

// AddTask appends a task and returns its index for UpdateTask.
func (w *WorkflowWriter) AddTask(t Task) (int, error) {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[w.id]
	if p == nil {
		return 0, fmt.Errorf("chatkit: workflow %s is not pending (already done?)", w.id)
	}
	i := len(p.item.(*WorkflowItem).Workflow.Tasks)
	return i, s.emitLocked(ItemUpdated{ItemID: w.id, Update: WorkflowTaskAdded{TaskIndex: i, Task: t}})
}

// UpdateTask replaces the task at index i (e.g. its status indicator loading → complete).
func (w *WorkflowWriter) UpdateTask(i int, t Task) error {
	return w.s.Emit(ItemUpdated{ItemID: w.id, Update: WorkflowTaskUpdated{TaskIndex: i, Task: t}})
}

// Done finishes the workflow (thread.item.done, stored) with summary, or with the time it
// took when summary is nil. It returns the stored item.
func (w *WorkflowWriter) Done(summary *WorkflowSummary) (*WorkflowItem, error) {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[w.id]
	if p == nil {
		return nil, fmt.Errorf("chatkit: workflow %s is not pending (already done?)", w.id)
	}
	final := p.materialize().(*WorkflowItem)
	if summary == nil {
		secs := int(time.Since(w.startedAt).Round(time.Second) / time.Second)
		summary = &WorkflowSummary{Duration: &secs}
	}
	final.Workflow.Summary = summary
	return final, s.emitLocked(ItemDone{Item: final})
}

// pendingItem is the server's copy of an added, unfinished item. Assistant text is kept in
// builders so long answers cost O(n), not O(n²).
type pendingItem struct {
	item  Item
	parts []*strings.Builder // assistant messages: text per content index
}

func newPendingItem(item Item) (*pendingItem, error) {
	var c Item
	var err error
	if m, ok := item.(*AssistantMessageItem); ok && len(m.Content) == 0 {
		// How every streamed answer starts: nothing nested to copy, so no JSON round trip
		// (half of StartMessage's CPU).
		c = &AssistantMessageItem{ItemBase: m.ItemBase, Content: []OutputText{}}
	} else {
		c, err = cloneItem(item)
	}
	if err != nil {
		return nil, fmt.Errorf("copy pending %s: %w", item.ItemType(), err)
	}
	p := &pendingItem{item: c}
	if m, ok := c.(*AssistantMessageItem); ok {
		for _, part := range m.Content {
			p.part(len(p.parts)).WriteString(part.Text)
		}
	}
	return p, nil
}

// part returns the builder for content index i, padding missing parts (an index may arrive
// before its part, as in the reference).
func (p *pendingItem) part(i int) *strings.Builder {
	m, ok := p.item.(*AssistantMessageItem)
	if !ok || i < 0 {
		return &strings.Builder{}
	}
	for len(p.parts) <= i {
		p.parts = append(p.parts, &strings.Builder{})
	}
	for len(m.Content) <= i {
		m.Content = append(m.Content, OutputText{})
	}
	return p.parts[i]
}

func (p *pendingItem) text(i int) string {
	if i < len(p.parts) {
		return p.parts[i].String()
	}
	return ""
}

func (p *pendingItem) apply(u ItemUpdate) {
	switch u := u.(type) {
	case ContentPartAdded:
		p.setPart(u.ContentIndex, u.Content)
	case TextDelta:
		p.part(u.ContentIndex).WriteString(u.Delta)
	case ContentPartDone:
		p.setPart(u.ContentIndex, u.Content)
	case AnnotationAdded:
		p.part(u.ContentIndex)
		if m, ok := p.item.(*AssistantMessageItem); ok {
			anns := m.Content[u.ContentIndex].Annotations
			at := min(max(u.AnnotationIndex, 0), len(anns))
			m.Content[u.ContentIndex].Annotations = slices.Insert(anns, at, u.Annotation)
		}
	case WorkflowTaskAdded:
		p.setTask(u.TaskIndex, u.Task)
	case WorkflowTaskUpdated:
		p.setTask(u.TaskIndex, u.Task)
	}
}

// setPart replaces content part i (started or finished) with c.
func (p *pendingItem) setPart(i int, c OutputText) {
	b := p.part(i)
	b.Reset()
	b.WriteString(c.Text)
	if m, ok := p.item.(*AssistantMessageItem); ok && i >= 0 && len(c.Annotations) > 0 {
		m.Content[i].Annotations = slices.Clone(c.Annotations)
	}
}

func (p *pendingItem) setTask(i int, t Task) {
	w, ok := p.item.(*WorkflowItem)
	if !ok || i < 0 || i > 1000 {
		return
	}
	for len(w.Workflow.Tasks) <= i {
		w.Workflow.Tasks = append(w.Workflow.Tasks, Task{})
	}
	w.Workflow.Tasks[i] = t
}

// materialize returns the pending item with its accumulated text filled in.
func (p *pendingItem) materialize() Item {
	if m, ok := p.item.(*AssistantMessageItem); ok {
		for i := range m.Content {
			m.Content[i].Text = p.text(i)
		}
	}
	return p.item
}

// keepAfterCancel stores what a stopped stream had shown (docs/chatkit-protocol.md §5.5): every
// pending assistant message with non-blank text, then a hidden note telling the model the user
// stopped it. It runs on a context of its own, since the request's is already cancelled.
func (s *Stream) keepAfterCancel() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended { // the answer was whole and stored: nothing was stopped
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
	defer cancel()
	var errs []error
	for _, id := range s.order {
		m, ok := s.pending[id].materialize().(*AssistantMessageItem)
		if !ok || strings.TrimSpace(m.Text()) == "" {
			continue
		}
		if err := s.store.SaveItem(ctx, s.userID, s.thread.ID, m); err != nil {
			errs = append(errs, fmt.Errorf("keep stopped message %s: %w", id, err))
		}
	}
	note := &SDKHiddenContextItem{Content: CancelledNote}
	s.prepare(note)
	if err := s.store.SaveItem(ctx, s.userID, s.thread.ID, note); err != nil {
		errs = append(errs, fmt.Errorf("store cancellation note: %w", err))
	}
	return errors.Join(errs...)
}
