package chatstore_test

import (
	"fmt"
	"testing"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
	"github.com/taskwire/taskwire/internal/pgtest"
)

// BenchmarkStartTurn is what a turn costs the store before the model is called: locking a
// thread of 32 items and reading them (the agent's history), then letting it go.
func BenchmarkStartTurn(b *testing.B) {
	s := chatstore.New(pgtest.Pool(b), chatstore.Options{})
	ctx := b.Context()
	th := &chatkit.Thread{ID: chatkit.NewID(chatkit.PrefixThread), CreatedAt: chatkit.Now(), Status: chatkit.ThreadStatus{Type: chatkit.StatusActive}}
	if err := s.CreateThread(ctx, alice, th, nil); err != nil {
		b.Fatal(err)
	}
	for i := range 32 {
		if err := s.SaveItem(ctx, alice, th.ID, message(fmt.Sprint("m", i), "You have no tasks yet. Tell me what you need to do and I will add it to your list.")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{Recent: 400})
		if err != nil {
			b.Fatal(err)
		}
		if len(l.Recent.Data) != 32 {
			b.Fatalf("read %d items, want 32", len(l.Recent.Data))
		}
		l.Release()
	}
}
