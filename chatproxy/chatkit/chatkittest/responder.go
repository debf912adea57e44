// Package chatkittest holds what tests of the ChatKit server (and of responders plugged into
// it) share: a scripted Responder, a strict SSE reader, and Env — the real HTTP stack
// (proxyhttp → chatkit → chatstore) on a fresh PostgreSQL database from pgtest.
package chatkittest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
)

// Scripted is a deterministic Responder for tests. The user's message chooses the
// behaviour (the "hooks" of the protocol's conformance scenarios):
//
//	"title: X"      echo, then set the thread title to X
//	"fail"          a progress_update, then an unexpected error (→ stream.error, retryable)
//	"quota"         a custom error "Quota exceeded", not retryable
//	"slow"          an assistant message with "partial", then wait for the client to leave
//	"slow-empty"    an assistant message with no text, then wait for the client to leave
//	"tool"          a pending client tool call get_selection {"project":"p1"}
//	"widget"        a widget with a task.toggle action
//	"structured"    a pending structured input (single-select prio, freeform notes)
//	"hidden"        a hidden context item and a client_effect, then echo
//	"workflow"      a workflow with one task loading → complete, then echo
//	"words N"       echo of N words (a long message)
//	"gate"          signal Started, wait for Gate to be closed (or the client to leave), echo
//	"last"          echo as the turn's last output (DoneLast), then try to add a widget,
//	                which must be refused (else the turn fails)
//	anything else   echo: "You said: <text>"
//
// Continuations: a client tool output is answered "Tool said: <output>", structured input
// "Answers: <json>", a widget action "task.toggle" replaces its widget with a toggled one.
type Scripted struct {
	// Started is signalled (if not nil) when a slow turn has sent its partial text and
	// when a gate turn has begun.
	Started chan struct{}
	// Gate holds "gate" turns until it is closed.
	Gate chan struct{}

	mu        sync.Mutex
	turns     []*chatkit.Turn
	histories [][]chatkit.Item
}

// Histories returns, per turn, the thread's history (Turn.History) as the turn began.
func (r *Scripted) Histories() [][]chatkit.Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]chatkit.Item(nil), r.histories...)
}

// Turns returns the turns the responder has seen, in order.
func (r *Scripted) Turns() []*chatkit.Turn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*chatkit.Turn(nil), r.turns...)
}

// EchoText is the reply Scripted gives to an ordinary message.
func EchoText(text string) string { return "You said: " + text }

// historyItems is the history Scripted reads each turn.
const historyItems = 100

// HistoryItems implements chatkit.HistoryReader, so the server's tests run with the history
// read together with the thread's lock, as the agent has it.
func (r *Scripted) HistoryItems() int { return historyItems }

// Respond implements chatkit.Responder.
func (r *Scripted) Respond(ctx context.Context, turn *chatkit.Turn, s *chatkit.Stream) error {
	history, err := turn.History(ctx, historyItems)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.turns = append(r.turns, turn)
	r.histories = append(r.histories, history)
	r.mu.Unlock()
	switch turn.Kind {
	case chatkit.TurnClientToolOutput:
		return say(s, "Tool said: "+string(turn.ToolCall.Output))
	case chatkit.TurnStructuredInput:
		answers, _ := json.Marshal(turn.StructuredInput.Inputs)
		return say(s, "Answers: "+string(answers))
	case chatkit.TurnAction:
		return r.action(turn, s)
	}
	text := turn.Input.Text()
	switch {
	case strings.HasPrefix(text, "title: "):
		if err := say(s, EchoText(text)); err != nil {
			return err
		}
		return s.SetTitle(strings.TrimPrefix(text, "title: "))
	case text == "fail":
		if err := s.Progress("search", "Working…"); err != nil {
			return err
		}
		return fmt.Errorf("scripted failure")
	case text == "quota":
		return chatkit.CustomError("Quota exceeded", false)
	case text == "slow", text == "slow-empty":
		m, err := s.StartMessage()
		if err != nil {
			return err
		}
		if text == "slow" {
			if err := m.Delta("partial"); err != nil {
				return err
			}
		}
		if r.Started != nil {
			r.Started <- struct{}{}
		}
		<-ctx.Done()
		return ctx.Err()
	case text == "gate":
		r.Started <- struct{}{}
		select {
		case <-r.Gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	case text == "tool":
		return s.AddItem(&chatkit.ClientToolCallItem{Status: chatkit.ToolCallPending, CallID: "call_1", Name: "get_selection", Arguments: json.RawMessage(`{"project":"p1"}`)})
	case text == "widget":
		return s.AddItem(&chatkit.WidgetItem{Widget: Widget(false)})
	case text == "structured":
		return s.AddItem(&chatkit.StructuredInputItem{Status: chatkit.InputPending, Inputs: []chatkit.StructuredInput{
			{Type: chatkit.QuestionMultipleChoice, ID: "prio", Question: "Priority?", Options: []chatkit.ChoiceOption{{Value: "High"}, {Value: "Low"}}},
			{Type: chatkit.QuestionFreeform, ID: "notes", Question: "Notes?"},
		}})
	case text == "hidden":
		if _, err := s.AddHidden(map[string]string{"secret": "model only"}); err != nil {
			return err
		}
		if err := s.Effect("tasks.changed", map[string]any{"task_ids": []int{1, 2}}); err != nil {
			return err
		}
	case text == "workflow":
		w, err := s.StartWorkflow(true)
		if err != nil {
			return err
		}
		title := "Adding task"
		i, err := w.AddTask(chatkit.Task{Type: chatkit.TaskCustom, Title: &title, StatusIndicator: chatkit.IndicatorLoading})
		if err != nil {
			return err
		}
		done := "Added ‘Buy milk’"
		if err := w.UpdateTask(i, chatkit.Task{Type: chatkit.TaskCustom, Title: &done, StatusIndicator: chatkit.IndicatorComplete}); err != nil {
			return err
		}
		if _, err := w.Done(nil); err != nil {
			return err
		}
	case text == "last":
		m, err := s.StartMessageWith(EchoText(text))
		if err != nil {
			return err
		}
		if _, err := m.DoneLast(); err != nil {
			return err
		}
		if err := s.AddItem(&chatkit.WidgetItem{Widget: Widget(false)}); err == nil {
			return errors.New("a widget was stored after the turn's last output")
		}
		return nil
	case strings.HasPrefix(text, "words "):
		var n int
		fmt.Sscanf(strings.TrimPrefix(text, "words "), "%d", &n)
		return say(s, strings.TrimSpace(strings.Repeat("word ", n)))
	}
	return say(s, EchoText(text))
}

// SyncAction implements chatkit.SyncActionResponder: task.toggle flips the widget.
func (r *Scripted) SyncAction(_ context.Context, turn *chatkit.Turn) (chatkit.Item, error) {
	if turn.Sender == nil || turn.Action.Type != "task.toggle" {
		return nil, nil
	}
	var w struct {
		Children []struct {
			DefaultChecked bool `json:"defaultChecked"`
		} `json:"children"`
	}
	if err := json.Unmarshal(turn.Sender.Widget, &w); err != nil || len(w.Children) == 0 {
		return nil, fmt.Errorf("not a task widget: %s", turn.Sender.Widget)
	}
	updated := *turn.Sender
	updated.Widget = Widget(!w.Children[0].DefaultChecked)
	return &updated, nil
}

func (r *Scripted) action(turn *chatkit.Turn, s *chatkit.Stream) error {
	if turn.Sender == nil {
		return say(s, "action "+turn.Action.Type+" without a sender, payload "+string(turn.Action.Payload))
	}
	item, _ := r.SyncAction(context.Background(), turn)
	if item == nil {
		return say(s, "unknown action "+turn.Action.Type)
	}
	return s.Emit(chatkit.ItemReplaced{Item: item})
}

// Widget is a one-task card whose checkbox sends task.toggle.
func Widget(checked bool) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"Card","children":[{"type":"Checkbox","name":"task.t1","label":"Buy milk","defaultChecked":%t,"onChangeAction":{"type":"task.toggle","payload":{"task_id":"t1"}}}]}`, checked))
}

// say streams text as one assistant message, split into word deltas.
func say(s *chatkit.Stream, text string) error {
	m, err := s.StartMessage()
	if err != nil {
		return err
	}
	for _, w := range strings.SplitAfter(text, " ") {
		if err := m.Delta(w); err != nil {
			return err
		}
	}
	_, err = m.Done()
	return err
}
