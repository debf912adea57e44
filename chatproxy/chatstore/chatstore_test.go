package chatstore_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	alice = "alice"
	bob   = "bob"
)

func newThread(t *testing.T, s *chatstore.Store, user string) *chatkit.Thread {
	t.Helper()
	th := &chatkit.Thread{ID: chatkit.NewID(chatkit.PrefixThread), CreatedAt: chatkit.Now(), Status: chatkit.ThreadStatus{Type: chatkit.StatusActive}}
	if err := s.CreateThread(t.Context(), user, th, nil); err != nil {
		t.Fatal(err)
	}
	return th
}

// impatientStore gives up on a busy thread after 20 ms, so a test sees a lock still held.
func impatientStore(t *testing.T) *chatstore.Store {
	return chatstore.New(pgtest.Pool(t), chatstore.Options{LockWait: 20 * time.Millisecond, PollInterval: 5 * time.Millisecond})
}

func message(id, text string) *chatkit.AssistantMessageItem {
	return &chatkit.AssistantMessageItem{ItemBase: chatkit.ItemBase{ID: id, CreatedAt: chatkit.Now()}, Content: []chatkit.OutputText{{Text: text}}}
}

func texts(t *testing.T, s *chatstore.Store, user, thread string, order chatkit.Order) []string {
	t.Helper()
	p, err := s.LoadItems(t.Context(), user, thread, chatkit.PageQuery{Limit: 100, Order: order})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range p.Data {
		out = append(out, it.Base().ID+"="+it.(*chatkit.AssistantMessageItem).Text())
	}
	return out
}

// TestCreateThreadWithFirstItem: a thread and its first message are stored together or not at
// all — here the message's id already belongs to another thread, so the insert of the item
// fails after the thread's and the whole transaction goes.
func TestCreateThreadWithFirstItem(t *testing.T) {
	s := chatstore.New(pgtest.Pool(t), chatstore.Options{})
	ctx := t.Context()
	th := &chatkit.Thread{ID: chatkit.NewID(chatkit.PrefixThread), CreatedAt: chatkit.Now(), Status: chatkit.ThreadStatus{Type: chatkit.StatusActive}}
	first := message("msg_first", "hello")
	if err := s.CreateThread(ctx, alice, th, first); err != nil {
		t.Fatal(err)
	}
	items, err := s.LoadItems(ctx, alice, th.ID, chatkit.PageQuery{Limit: 10, Order: chatkit.Asc})
	if err != nil || len(items.Data) != 1 || items.Data[0].Base().ID != "msg_first" {
		t.Fatalf("items of the new thread: %+v, %v; want the first message", items.Data, err)
	}

	clash := &chatkit.Thread{ID: chatkit.NewID(chatkit.PrefixThread), CreatedAt: chatkit.Now(), Status: chatkit.ThreadStatus{Type: chatkit.StatusActive}}
	if err := s.CreateThread(ctx, alice, clash, message("msg_first", "again")); err == nil {
		t.Fatal("a thread whose first item cannot be stored was created")
	}
	if _, err := s.LoadThread(ctx, alice, clash.ID); !errors.Is(err, chatkit.ErrNotFound) {
		t.Fatalf("the thread of the failed create: %v, want ErrNotFound (rolled back)", err)
	}
}

func TestItemsUpsertKeepsPositionAndPages(t *testing.T) {
	t.Parallel()
	s := chatstore.New(pgtest.Pool(t), chatstore.Options{})
	ctx := t.Context()
	th := newThread(t, s, alice)
	for _, m := range []*chatkit.AssistantMessageItem{message("m1", "one"), message("m2", "two"), message("m3", "three")} {
		m.ThreadID = th.ID
		if err := s.SaveItem(ctx, alice, th.ID, m); err != nil {
			t.Fatal(err)
		}
	}
	// Adding m1 again (later, with new text) keeps its place and takes the new content.
	again := message("m1", "one, edited")
	if err := s.SaveItem(ctx, alice, th.ID, again); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"m1=one, edited", "m2=two", "m3=three"}, texts(t, s, alice, th.ID, chatkit.Asc)); diff != "" {
		t.Errorf("asc: %s", diff)
	}
	if diff := cmp.Diff([]string{"m3=three", "m2=two", "m1=one, edited"}, texts(t, s, alice, th.ID, chatkit.Desc)); diff != "" {
		t.Errorf("desc: %s", diff)
	}
	cases := []struct {
		q       chatkit.PageQuery
		ids     []string
		hasMore bool
		after   string
	}{
		{chatkit.PageQuery{Limit: 2, Order: chatkit.Asc}, []string{"m1", "m2"}, true, "m2"},
		{chatkit.PageQuery{Limit: 2, Order: chatkit.Asc, After: "m2"}, []string{"m3"}, false, ""},
		{chatkit.PageQuery{Limit: 3, Order: chatkit.Asc, After: "m1"}, []string{"m2", "m3"}, false, ""},
		{chatkit.PageQuery{Limit: 1, Order: chatkit.Desc}, []string{"m3"}, true, "m3"},
		{chatkit.PageQuery{Limit: 5, Order: chatkit.Desc, After: "m2"}, []string{"m1"}, false, ""},
	}
	for _, c := range cases {
		p, err := s.LoadItems(ctx, alice, th.ID, c.q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range p.Data {
			ids = append(ids, it.Base().ID)
		}
		if !slices.Equal(ids, c.ids) || p.HasMore != c.hasMore || p.After != c.after {
			t.Errorf("%+v: got %v more=%v after=%q", c.q, ids, p.HasMore, p.After)
		}
	}
	if _, err := s.LoadItems(ctx, alice, th.ID, chatkit.PageQuery{Limit: 2, After: "nope"}); !errors.Is(err, chatkit.ErrNotFound) {
		t.Errorf("unknown cursor: %v, want ErrNotFound", err)
	}
	if err := s.DeleteItemsAfter(ctx, alice, th.ID, "m1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"m1=one, edited"}, texts(t, s, alice, th.ID, chatkit.Asc)); diff != "" {
		t.Errorf("after DeleteItemsAfter: %s", diff)
	}
}

func TestNotFoundAndIsolation(t *testing.T) {
	t.Parallel()
	s := chatstore.New(pgtest.Pool(t), chatstore.Options{LockWait: time.Millisecond})
	ctx := t.Context()
	th := newThread(t, s, alice)
	if err := s.SaveItem(ctx, alice, th.ID, message("m1", "secret")); err != nil {
		t.Fatal(err)
	}
	other := newThread(t, s, alice)
	bobs := newThread(t, s, bob)
	checks := map[string]error{
		"bob loads alice's thread": second(s.LoadThread(ctx, bob, th.ID)),
		"bob loads alice's item":   second(s.LoadItem(ctx, bob, th.ID, "m1")),
		"bob saves alice's thread": s.SaveThread(ctx, bob, th),
		"bob deletes it":           s.DeleteThread(ctx, bob, th.ID),
		"bob locks it":             second(s.LockThread(ctx, bob, th.ID, chatkit.TurnStart{NewItem: func() chatkit.Item { return message("m8", "x") }})),
		"bob adds an item to it":   s.SaveItem(ctx, bob, th.ID, message("m9", "x")),
		"bob uses alice's cursor":  second(s.LoadItems(ctx, bob, bobs.ID, chatkit.PageQuery{Limit: 1, After: "m1"})),
		"bob threads after hers":   second(s.LoadThreads(ctx, bob, chatkit.PageQuery{Limit: 1, After: th.ID})),
		"item from another thread": second(s.LoadItem(ctx, alice, other.ID, "m1")),
		"delete a missing thread":  s.DeleteThread(ctx, alice, "thr_missing"),
		"save a missing thread":    s.SaveThread(ctx, alice, &chatkit.Thread{ID: "thr_missing"}),
	}
	for name, err := range checks {
		if !errors.Is(err, chatkit.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	p, err := s.LoadItems(ctx, bob, th.ID, chatkit.PageQuery{Limit: 10})
	if err != nil || len(p.Data) != 0 {
		t.Errorf("bob lists alice's items: %v %v", p.Data, err)
	}
	if n, err := s.CountItems(ctx, bob, th.ID, []string{"m1"}); err != nil || n != 0 {
		t.Errorf("bob counts alice's items: %d %v", n, err)
	}
	// An id already used in one thread cannot be moved to another by a save.
	if err := s.SaveItem(ctx, alice, other.ID, message("m1", "hijack")); err == nil {
		t.Error("saving an item id of another thread succeeded")
	}
	if got := texts(t, s, alice, th.ID, chatkit.Asc); !slices.Equal(got, []string{"m1=secret"}) {
		t.Errorf("alice's item after all that: %v", got)
	}
	// Deleting the thread deletes its items.
	if err := s.DeleteThread(ctx, alice, th.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadItem(ctx, alice, th.ID, "m1"); !errors.Is(err, chatkit.ErrNotFound) {
		t.Errorf("item after its thread was deleted: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestThreadRoundTrip(t *testing.T) {
	t.Parallel()
	s := chatstore.New(pgtest.Pool(t), chatstore.Options{})
	th := newThread(t, s, alice)
	title, reason := "Groceries", "read only"
	th.Title, th.Status = &title, chatkit.ThreadStatus{Type: chatkit.StatusLocked, Reason: &reason}
	th.Metadata = map[string]any{"last_response_id": "resp_1"}
	if err := s.SaveThread(t.Context(), alice, th); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadThread(t.Context(), alice, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(th, got); diff != "" {
		t.Errorf("thread round trip: %s", diff)
	}
}

func TestLockLeases(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	s := chatstore.New(pool, chatstore.Options{LeaseTTL: 300 * time.Millisecond, LockWait: 20 * time.Millisecond, PollInterval: 5 * time.Millisecond})
	ctx := t.Context()
	th := newThread(t, s, alice)

	l, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{})
	if err != nil {
		t.Fatal(err)
	}
	// Held across several lease lifetimes: renewal keeps others out.
	time.Sleep(700 * time.Millisecond)
	if _, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{}); !errors.Is(err, chatkit.ErrThreadBusy) {
		t.Fatalf("second lock while held: %v, want ErrThreadBusy", err)
	}
	l.Release()
	l.Release() // harmless
	l2, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{})
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	// Someone else takes the lease (as after an expiry): the holder learns it lost it.
	if _, err := pool.Exec(ctx, "UPDATE chat_threads SET lease_token = 'other' WHERE id = $1", th.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l2.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("a stolen lease was not reported as lost")
	}
	l2.Release()
	// A crashed holder's expired lease does not block.
	if _, err := pool.Exec(ctx, "UPDATE chat_threads SET lease_token = 'crashed', lease_until = now() - interval '1 second' WHERE id = $1", th.ID); err != nil {
		t.Fatal(err)
	}
	l3, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{})
	if err != nil {
		t.Fatalf("lock over an expired lease: %v", err)
	}
	l3.Release()
	if _, err := s.LockThread(ctx, alice, "thr_missing", chatkit.TurnStart{}); !errors.Is(err, chatkit.ErrNotFound) {
		t.Errorf("lock on a missing thread: %v", err)
	}
}

// TestReleaseWith: the turn's last item is stored as the lease is given back, in one
// statement; a failed store leaves the lease for Release.
func TestReleaseWith(t *testing.T) {
	t.Parallel()
	s := impatientStore(t)
	ctx := t.Context()
	th := newThread(t, s, alice)
	other := newThread(t, s, alice)
	if err := s.SaveItem(ctx, alice, other.ID, message("elsewhere", "x")); err != nil {
		t.Fatal(err)
	}

	l, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ReleaseWith(ctx, message("answer", "the answer")); err != nil {
		t.Fatal(err)
	}
	if got := texts(t, s, alice, th.ID, chatkit.Asc); !slices.Equal(got, []string{"answer=the answer"}) {
		t.Errorf("items after ReleaseWith = %q", got)
	}
	// Given back: the next turn takes the thread at once (LockWait is 20 ms).
	l2, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{})
	if err != nil {
		t.Fatalf("lock after ReleaseWith: %v", err)
	}
	if err := l.ReleaseWith(ctx, message("late", "x")); err == nil {
		t.Error("a second ReleaseWith of one lease stored an item")
	}
	l.Release() // already given back: must not give back l2's lease
	if _, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{}); !errors.Is(err, chatkit.ErrThreadBusy) {
		t.Fatalf("lock while l2 holds the thread: %v, want ErrThreadBusy", err)
	}

	// An item whose id lives in another thread is not stored; the error says so.
	if err := l2.ReleaseWith(ctx, message("elsewhere", "moved")); err == nil || !strings.Contains(err.Error(), "another thread") {
		t.Errorf("ReleaseWith of another thread's item id: %v", err)
	}
	l2.Release()
	l3, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{})
	if err != nil {
		t.Fatalf("lock after a failed ReleaseWith and Release: %v", err)
	}
	// A thread deleted under the holder: ErrNotFound, and Release still works.
	if err := s.DeleteThread(ctx, alice, th.ID); err != nil {
		t.Fatal(err)
	}
	if err := l3.ReleaseWith(ctx, message("orphan", "x")); !errors.Is(err, chatkit.ErrNotFound) {
		t.Errorf("ReleaseWith on a deleted thread: %v, want ErrNotFound", err)
	}
	l3.Release()
	if got := texts(t, s, alice, other.ID, chatkit.Asc); !slices.Equal(got, []string{"elsewhere=x"}) {
		t.Errorf("the other thread's items = %q", got)
	}
}

// replicas returns two stores on one database, each with a pool of its own, as two chatproxy
// replicas have.
func replicas(t *testing.T, opt chatstore.Options) []*chatstore.Store {
	t.Helper()
	url := pgtest.URL(t)
	var stores []*chatstore.Store
	for range 2 {
		pool, err := db.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		stores = append(stores, chatstore.New(pool, opt))
	}
	return stores
}

// Two stores on two pools (two replicas) never hold one thread at the same time.
func TestLockAcrossReplicas(t *testing.T) {
	t.Parallel()
	stores := replicas(t, chatstore.Options{PollInterval: 2 * time.Millisecond})
	th := newThread(t, stores[0], alice)
	var inside, maxInside, entries atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[i%2]
			for range 5 {
				l, err := s.LockThread(context.Background(), alice, th.ID, chatkit.TurnStart{})
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				entries.Add(1)
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				l.Release()
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 || entries.Load() != 40 {
		t.Errorf("at most %d holders at once over %d entries; want 1 over 40", maxInside.Load(), entries.Load())
	}
}

// LockThread's start work (store the turn's item, read the thread and its newest items) gives
// what SaveItem, LoadThread and LoadItems would, and happens only to a thread it locked.
func TestLockThreadStartsTurn(t *testing.T) {
	t.Parallel()
	s := impatientStore(t)
	ctx := t.Context()
	th := newThread(t, s, alice)
	for _, id := range []string{"m1", "m2", "m3"} {
		if err := s.SaveItem(ctx, alice, th.ID, message(id, id)); err != nil {
			t.Fatal(err)
		}
	}
	other := newThread(t, s, alice)
	if err := s.SaveItem(ctx, alice, other.ID, message("elsewhere", "x")); err != nil {
		t.Fatal(err)
	}
	newItem := func(id string) func() chatkit.Item {
		return func() chatkit.Item { m := message(id, id); m.ThreadID = th.ID; return m }
	}
	cases := []struct {
		name    string
		start   chatkit.TurnStart
		recent  []string
		hasMore bool
		items   []string // the thread afterwards, oldest first
	}{
		{"lock only", chatkit.TurnStart{}, nil, false, []string{"m1", "m2", "m3"}},
		{"recent, all of them", chatkit.TurnStart{Recent: 10}, []string{"m3", "m2", "m1"}, false, []string{"m1", "m2", "m3"}},
		{"add and read two", chatkit.TurnStart{NewItem: newItem("m4"), Recent: 2}, []string{"m4", "m3"}, true, []string{"m1", "m2", "m3", "m4"}},
		{"add again keeps its place", chatkit.TurnStart{NewItem: newItem("m2"), Recent: 3}, []string{"m4", "m3", "m2"}, true, []string{"m1", "m2", "m3", "m4"}},
		{"add without reading", chatkit.TurnStart{NewItem: newItem("m5")}, nil, false, []string{"m1", "m2", "m3", "m4", "m5"}},
	}
	for _, c := range cases {
		l, err := s.LockThread(ctx, alice, th.ID, c.start)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if l.Thread.ID != th.ID || !l.Thread.CreatedAt.Equal(th.CreatedAt) {
			t.Errorf("%s: thread %+v, want %+v", c.name, l.Thread, th)
		}
		var recent []string
		for _, it := range l.Recent.Data {
			recent = append(recent, it.Base().ID)
		}
		if !slices.Equal(recent, c.recent) || l.Recent.HasMore != c.hasMore {
			t.Errorf("%s: recent %v more=%v, want %v more=%v", c.name, recent, l.Recent.HasMore, c.recent, c.hasMore)
		}
		if _, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{NewItem: newItem("while-held")}); !errors.Is(err, chatkit.ErrThreadBusy) {
			t.Errorf("%s: a second lock while held: %v, want ErrThreadBusy", c.name, err)
		}
		l.Release()
		var ids []string
		for _, text := range texts(t, s, alice, th.ID, chatkit.Asc) {
			ids = append(ids, text[:len(text)/2]) // "m1=m1" → "m1"
		}
		if !slices.Equal(ids, c.items) {
			t.Errorf("%s: the thread holds %v, want %v", c.name, ids, c.items)
		}
	}

	// An item whose id lives in another thread is refused and the thread is not kept locked.
	if _, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{NewItem: newItem("elsewhere")}); err == nil {
		t.Error("an item of another thread was stored in this one")
	}
	// Another user's thread is a missing one, and nothing is added to it.
	if _, err := s.LockThread(ctx, bob, th.ID, chatkit.TurnStart{NewItem: newItem("bobs"), Recent: 5}); !errors.Is(err, chatkit.ErrNotFound) {
		t.Errorf("bob locks alice's thread: %v, want ErrNotFound", err)
	}
	l, err := s.LockThread(ctx, alice, th.ID, chatkit.TurnStart{Recent: 1})
	if err != nil {
		t.Fatalf("lock after the refused item: %v", err)
	}
	if got := l.Recent.Data[0].Base().ID; got != "m5" {
		t.Errorf("newest item %s, want m5 (nothing of bob's or the other thread's)", got)
	}
	l.Release()
}

// A turn on one replica sees an item another replica changed since its last turn read it:
// the items a store keeps decoded never stand in for what the database holds.
func TestLockThreadSeesOtherReplicasChanges(t *testing.T) {
	t.Parallel()
	stores := replicas(t, chatstore.Options{})
	ctx := t.Context()
	a, b := stores[0], stores[1]
	th := newThread(t, a, alice)
	if err := a.SaveItem(ctx, alice, th.ID, message("m1", "before")); err != nil {
		t.Fatal(err)
	}
	newest := func() string {
		t.Helper()
		l, err := a.LockThread(ctx, alice, th.ID, chatkit.TurnStart{Recent: 5})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		return l.Recent.Data[0].(*chatkit.AssistantMessageItem).Text()
	}
	if got := newest(); got != "before" {
		t.Fatalf("first read: %q", got)
	}
	if err := b.SaveItem(ctx, alice, th.ID, message("m1", "after")); err != nil {
		t.Fatal(err)
	}
	if got := newest(); got != "after" {
		t.Errorf("after the other replica's change the turn read %q, want %q", got, "after")
	}
}
