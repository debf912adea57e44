package chatkit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
)

// failUserMessages is a store that cannot save user messages, as when the database goes
// away between creating a thread and storing its first message.
type failUserMessages struct{ chatkit.Store }

func (f failUserMessages) SaveItem(ctx context.Context, user, thread string, item chatkit.Item) error {
	if _, ok := item.(*chatkit.UserMessageItem); ok {
		return errors.New("connection refused")
	}
	return f.Store.SaveItem(ctx, user, thread, item)
}

// A new thread whose first message cannot be stored is removed again: no empty thread is
// left for the user to find.
func TestFailedFirstMessageLeavesNoThread(t *testing.T) {
	t.Parallel()
	env := ck.NewEnv(t, &ck.Scripted{}, ck.EnvOptions{WrapStore: func(s chatkit.Store) chatkit.Store { return failUserMessages{s} }})
	var col chatkit.Collector
	err := env.Server.Stream(t.Context(), chatkit.Caller{UserID: "u"}, &chatkit.CreateThreadRequest{Input: chatkit.TextInput("hello")}, &col)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if e := col.Err(); e == nil || !e.AllowRetry {
		t.Fatalf("the turn ended with %+v, want a retryable error event", e)
	}
	page, err := env.Store.LoadThreads(t.Context(), "u", chatkit.PageQuery{Limit: 10, Order: chatkit.Desc})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 0 {
		t.Fatalf("%d threads left behind, first %q", len(page.Data), strings.TrimSpace(page.Data[0].ID))
	}
}
