package chatkit_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
)

// historyProbe is a HistoryReader that compares, at the start of each turn, the history the
// server read with the thread's lock (Turn.History) with what the store holds (Turn.Items).
type historyProbe struct {
	read, ask int // HistoryItems, and the History size asked for

	mu        sync.Mutex
	got, want [][]string
}

func (p *historyProbe) HistoryItems() int { return p.read }

func (p *historyProbe) Respond(ctx context.Context, turn *chatkit.Turn, s *chatkit.Stream) error {
	items, err := turn.History(ctx, p.ask)
	if err != nil {
		return err
	}
	page, err := turn.Items(ctx, chatkit.PageQuery{Limit: p.ask, Order: chatkit.Desc})
	if err != nil {
		return err
	}
	stored := slices.Clone(page.Data)
	slices.Reverse(stored)
	p.mu.Lock()
	p.got, p.want = append(p.got, itemIDs(items)), append(p.want, itemIDs(stored))
	p.mu.Unlock()
	msg, err := s.StartMessage()
	if err != nil {
		return err
	}
	if err := msg.Delta("ok"); err != nil {
		return err
	}
	_, err = msg.Done()
	return err
}

func itemIDs(items []chatkit.Item) []string {
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.Base().ID)
	}
	return ids
}

// The history a HistoryReader gets is the store's, whether the server's read covers the size
// asked for (whole thread, newest few) or not (then History asks the store).
func TestHistoryReadWithTheLock(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		read, ask int
	}{
		{"whole thread", 100, 100},
		{"newest few", 3, 3},
		{"fewer than read", 3, 2},
		{"more than read", 2, 5},
		{"none read", 0, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := &historyProbe{read: c.read, ask: c.ask}
			env := ck.NewEnv(t, p, ck.EnvOptions{})
			thread, _ := env.CreateThread(t, alice, "one")
			for _, text := range []string{"two", "three", "four"} {
				env.AddMessage(t, alice, thread, text)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if len(p.got) != 4 {
				t.Fatalf("%d turns answered, want 4", len(p.got))
			}
			if diff := cmp.Diff(p.want, p.got); diff != "" {
				t.Errorf("history per turn (-store +History): %s", diff)
			}
			if last := p.got[3]; len(last) != min(c.ask, 7) {
				t.Errorf("last turn's history has %d items, want %d", len(last), min(c.ask, 7))
			}
		})
	}
}
