package chatkit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
)

// failFirstMessages is a store that loses the database while a new thread and its first
// message are being stored (chatstore does both in one transaction, so neither stays).
type failFirstMessages struct{ chatkit.Store }

func (f failFirstMessages) CreateThread(context.Context, string, *chatkit.Thread, chatkit.Item) error {
	return errors.New("connection refused")
}

// A new thread whose first message cannot be stored is not created at all: the request fails
// before any event, and no empty thread is left for the user to find.
func TestFailedFirstMessageLeavesNoThread(t *testing.T) {
	t.Parallel()
	env := ck.NewEnv(t, &ck.Scripted{}, ck.EnvOptions{WrapStore: func(s chatkit.Store) chatkit.Store { return failFirstMessages{s} }})
	var col chatkit.Collector
	err := env.Server.Stream(t.Context(), chatkit.Caller{UserID: "u"}, &chatkit.CreateThreadRequest{Input: chatkit.TextInput("hello")}, &col)
	if err == nil || len(col.Events) != 0 {
		t.Fatalf("Stream: %v with %d events, want an error before any event", err, len(col.Events))
	}
	page, err := env.Store.LoadThreads(t.Context(), "u", chatkit.PageQuery{Limit: 10, Order: chatkit.Desc})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 0 {
		t.Fatalf("%d threads left behind, first %q", len(page.Data), strings.TrimSpace(page.Data[0].ID))
	}
}
