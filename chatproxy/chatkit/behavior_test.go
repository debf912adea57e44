package chatkit_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
)

// docs/chatkit-protocol.md §8.23 / §5.5: closing the connection mid-answer keeps the non-blank
// partial text, adds a hidden note for the model, and the next message works.
func TestCancellation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		hook     string
		keptText []string // assistant texts stored for the stopped turn
	}{
		{"slow", []string{"partial"}},
		{"slow-empty", nil},
	}
	for _, c := range cases {
		t.Run(c.hook, func(t *testing.T) {
			t.Parallel()
			r := &ck.Scripted{Started: make(chan struct{}, 1)}
			env := ck.NewEnv(t, r, ck.EnvOptions{})
			thread, _ := env.CreateThread(t, alice, "hello")

			ctx, cancel := context.WithCancel(context.Background())
			resp := env.Post(t, ctx, alice, ck.Req("threads.add_user_message", obj{"thread_id": thread, "input": ck.Input(c.hook)}))
			<-r.Started // the partial text has been flushed to us
			if c.hook == "slow" {
				readUntil(t, resp, `"delta":"partial"`)
			}
			cancel()
			resp.Body.Close()

			// The next message waits for the stopped turn to let go of the thread.
			env.AddMessage(t, alice, thread, "next")
			var got []string
			for _, it := range env.Items(t, alice, thread) {
				got = append(got, it["type"].(string)+":"+ck.ItemText(it))
			}
			want := []string{"user_message:hello", "assistant_message:" + ck.EchoText("hello"), "user_message:" + c.hook}
			for _, k := range c.keptText {
				want = append(want, "assistant_message:"+k)
			}
			want = append(want, "user_message:next", "assistant_message:"+ck.EchoText("next"))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("items after the stop: %s", diff)
			}
			hist := r.Histories()
			notes := 0
			for _, item := range hist[len(hist)-1] {
				if n, ok := item.(*chatkit.SDKHiddenContextItem); ok && n.Content == chatkit.CancelledNote {
					notes++
				}
			}
			if notes != 1 {
				t.Errorf("the next turn's history has %d cancellation notes, want 1", notes)
			}
		})
	}
}

func readUntil(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return
		}
	}
	t.Fatalf("stream ended before %s", want)
}

// Pagination properties (docs/chatkit-protocol.md §4.4) through items.list and threads.list: for
// random sizes, limits, timestamp ties and hidden items, following after in either order yields
// every visible entry exactly once, and the orders are mirror images.
func TestPaginationProperties(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	ctx := t.Context()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	base := chatkit.Now().Add(-time.Hour)
	for round := range 12 {
		thread := &chatkit.Thread{ID: chatkit.NewID(chatkit.PrefixThread), CreatedAt: base.Add(time.Duration(round) * time.Minute), Status: chatkit.ThreadStatus{Type: "active"}}
		if err := env.Store.CreateThread(ctx, alice, thread, nil); err != nil {
			t.Fatal(err)
		}
		n := rng.IntN(60)
		var visible []string
		at := base
		for i := range n {
			if rng.IntN(3) > 0 { // many ties: items created in the same microsecond
				at = at.Add(time.Duration(rng.IntN(2)) * time.Microsecond)
			}
			b := chatkit.ItemBase{ID: chatkit.NewID("it"), ThreadID: thread.ID, CreatedAt: at}
			var item chatkit.Item = &chatkit.AssistantMessageItem{ItemBase: b, Content: []chatkit.OutputText{{Text: fmt.Sprint(i)}}}
			if rng.IntN(4) == 0 {
				item = &chatkit.HiddenContextItem{ItemBase: b, Content: []byte(`"h"`)}
			} else {
				visible = append(visible, b.ID)
			}
			if err := env.Store.SaveItem(ctx, alice, thread.ID, item); err != nil {
				t.Fatal(err)
			}
		}
		limit := 1 + rng.IntN(25)
		asc := collectPages(t, env, "items.list", obj{"thread_id": thread.ID, "order": "asc", "limit": limit})
		desc := collectPages(t, env, "items.list", obj{"thread_id": thread.ID, "order": "desc", "limit": limit})
		if diff := cmp.Diff(visible, asc, cmpEmpty); diff != "" {
			t.Errorf("round %d (n=%d, limit=%d): asc pages: %s", round, n, limit, diff)
		}
		slices.Reverse(desc)
		if diff := cmp.Diff(asc, desc, cmpEmpty); diff != "" {
			t.Errorf("round %d (n=%d, limit=%d): desc is not asc reversed: %s", round, n, limit, diff)
		}
	}
	// Threads: the 12 above, with one more sharing a creation time.
	tie := &chatkit.Thread{ID: chatkit.NewID(chatkit.PrefixThread), CreatedAt: base, Status: chatkit.ThreadStatus{Type: "active"}}
	if err := env.Store.CreateThread(ctx, alice, tie, nil); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, 5, 13, 20} {
		asc := collectPages(t, env, "threads.list", obj{"order": "asc", "limit": limit})
		desc := collectPages(t, env, "threads.list", obj{"order": "desc", "limit": limit})
		slices.Reverse(desc)
		if len(asc) != 13 || !slices.Equal(asc, desc) || len(slices.Compact(slices.Sorted(slices.Values(asc)))) != 13 {
			t.Errorf("threads with limit %d: asc %v, desc reversed %v", limit, asc, desc)
		}
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func collectPages(t *testing.T, env *ck.Env, typ string, params obj) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatalf("%s does not end", typ)
		}
		r := env.Do(t, alice, ck.Req(typ, params))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", typ, r.Status, r.Raw)
		}
		data := r.JSON["data"].([]any)
		for _, d := range data {
			ids = append(ids, d.(obj)["id"].(string))
		}
		after, hasAfter := r.JSON["after"]
		if r.JSON["has_more"] != true {
			if hasAfter {
				t.Errorf("after without has_more: %s", r.Raw)
			}
			return ids
		}
		if !hasAfter {
			t.Fatalf("has_more without after: %s", r.Raw)
		}
		params["after"] = after
	}
}

// Isolation: for every request type, user B gets exactly what a missing id gets (404, or
// an empty list), and A's rows are byte for byte the same afterwards.
func TestIsolationEveryRequestType(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	const bob = "user-bob"
	t1, ev1 := env.CreateThread(t, alice, "widget")
	user1 := ev1[1]["item"].(obj)["id"]
	widget := ev1[len(ev1)-1]["item"].(obj)["id"]
	t2, _ := env.CreateThread(t, alice, "tool")
	t3, ev3 := env.CreateThread(t, alice, "structured")
	si := ev3[len(ev3)-1]["item"].(obj)["id"]
	bobThread, _ := env.CreateThread(t, bob, "mine")

	before := snapshot(t, env, alice)
	action := obj{"type": "task.toggle", "payload": obj{"task_id": "t1"}}
	cases := []struct {
		name   string
		req    obj
		status int
	}{
		{"add_user_message", ck.Req("threads.add_user_message", obj{"thread_id": t1, "input": ck.Input("hi")}), 404},
		{"add_client_tool_output", ck.Req("threads.add_client_tool_output", obj{"thread_id": t2, "result": obj{"x": 1}}), 404},
		{"add_structured_input", ck.Req("threads.add_structured_input", obj{"thread_id": t3, "item_id": si, "input": obj{}}), 404},
		{"add_structured_input via own thread", ck.Req("threads.add_structured_input", obj{"thread_id": bobThread, "item_id": si, "input": obj{}}), 404},
		{"retry_after_item", ck.Req("threads.retry_after_item", obj{"thread_id": t1, "item_id": user1}), 404},
		{"retry_after_item via own thread", ck.Req("threads.retry_after_item", obj{"thread_id": bobThread, "item_id": user1}), 404},
		{"custom_action", ck.Req("threads.custom_action", obj{"thread_id": t1, "item_id": widget, "action": action}), 404},
		{"custom_action via own thread", ck.Req("threads.custom_action", obj{"thread_id": bobThread, "item_id": widget, "action": action}), 404},
		{"sync_custom_action", ck.Req("threads.sync_custom_action", obj{"thread_id": t1, "item_id": widget, "action": action}), 404},
		{"sync_custom_action via own thread", ck.Req("threads.sync_custom_action", obj{"thread_id": bobThread, "item_id": widget, "action": action}), 404},
		{"get_by_id", ck.Req("threads.get_by_id", obj{"thread_id": t1}), 404},
		{"update", ck.Req("threads.update", obj{"thread_id": t1, "title": "pwned"}), 404},
		{"delete", ck.Req("threads.delete", obj{"thread_id": t1}), 404},
		{"items.list", ck.Req("items.list", obj{"thread_id": t1}), 404},
		{"items.list with A's cursor", ck.Req("items.list", obj{"thread_id": bobThread, "after": user1}), 404},
		{"threads.list with A's cursor", ck.Req("threads.list", obj{"after": t1}), 404},
		{"feedback", ck.Req("items.feedback", obj{"thread_id": t1, "item_ids": []any{widget}, "kind": "positive"}), 404},
		{"feedback via own thread", ck.Req("items.feedback", obj{"thread_id": bobThread, "item_ids": []any{widget}, "kind": "positive"}), 404},
		{"attachments.create", ck.Req("attachments.create", obj{"name": "a", "size": 1, "mime_type": "text/plain"}), 400},
		{"attachments.delete", ck.Req("attachments.delete", obj{"attachment_id": "atc_1"}), 400},
		{"input.transcribe", ck.Req("input.transcribe", obj{"audio_base64": "", "mime_type": "audio/mp4"}), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(t, bob, c.req)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Raw)
			}
			// Same answer as for an id nobody has.
			if c.status == 404 {
				missing := env.Do(t, bob, replaceIDs(c.req, map[any]string{t1: "thr_x", t2: "thr_x", t3: "thr_x", user1: "msg_x", widget: "wgt_x", si: "si_x"}))
				if missing.Status != r.Status || !cmp.Equal(missing.JSON["error"].(obj)["code"], r.JSON["error"].(obj)["code"]) {
					t.Errorf("foreign id answered %s, missing id %s", r.Raw, missing.Raw)
				}
			}
		})
	}
	list := env.Do(t, bob, ck.Req("threads.list", obj{}))
	if d := list.JSON["data"].([]any); len(d) != 1 || d[0].(obj)["id"] != bobThread {
		t.Errorf("bob's list: %s", list.Raw)
	}
	if diff := cmp.Diff(before, snapshot(t, env, alice)); diff != "" {
		t.Errorf("alice's data changed: %s", diff)
	}
}

func replaceIDs(req obj, ids map[any]string) obj {
	swap := func(v any) any {
		if s, ok := v.(string); ok {
			if r, ok := ids[s]; ok {
				return r
			}
		}
		return v
	}
	params := map[string]any{}
	for k, v := range req["params"].(obj) {
		if l, ok := v.([]any); ok {
			l = slices.Clone(l)
			for i, e := range l {
				l[i] = swap(e)
			}
			v = l
		}
		params[k] = swap(v)
	}
	return ck.Req(req["type"].(string), params)
}

func snapshot(t *testing.T, env *ck.Env, user string) []string {
	t.Helper()
	rows, err := env.Pool.Query(t.Context(), `
		SELECT 'thread ' || id || ' ' || doc::text || ' ' || coalesce(lease_token, '-') FROM chat_threads WHERE user_id = $1
		UNION ALL
		SELECT 'item ' || thread_id || ' ' || seq || ' ' || doc::text FROM chat_items WHERE user_id = $1
		ORDER BY 1`, user)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatal("empty snapshot")
	}
	return out
}

// lockSpy reports each LockThread call and its return, so a test knows where a request is.
type lockSpy struct {
	chatkit.Store
	calls, acquired chan string
}

func (s lockSpy) LockThread(ctx context.Context, userID, threadID string, start chatkit.TurnStart) (*chatkit.LockedThread, error) {
	s.calls <- threadID
	l, err := s.Store.LockThread(ctx, userID, threadID, start)
	s.acquired <- threadID
	return l, err
}

// Two add_user_message requests on one thread at the same moment: the second waits for the
// first, and the thread reads question, answer, question, answer.
func TestConcurrentMessagesTakeTurns(t *testing.T) {
	t.Parallel()
	r := &ck.Scripted{Started: make(chan struct{}, 1), Gate: make(chan struct{})}
	spy := lockSpy{calls: make(chan string, 10), acquired: make(chan string, 10)}
	env := ck.NewEnv(t, r, ck.EnvOptions{WrapStore: func(s chatkit.Store) chatkit.Store { spy.Store = s; return spy }})
	thread, _ := env.CreateThread(t, alice, "hello")
	<-spy.calls
	<-spy.acquired

	var wg sync.WaitGroup
	results := make([][]map[string]any, 2)
	for i, text := range []string{"gate", "second"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = env.AddMessage(t, alice, thread, text)
		}()
		<-spy.calls // this request has reached the lock
		if i == 0 {
			<-spy.acquired
			<-r.Started // the first holds the thread, inside its turn
		}
	}
	// While the first turn runs, the second must not get the thread. (This wait only gives a
	// broken lock the time to show itself; a working one never returns here.)
	select {
	case <-spy.acquired:
		t.Error("the second request got the thread while the first was still answering")
	case <-time.After(300 * time.Millisecond):
	}
	close(r.Gate)
	wg.Wait()

	var got []string
	for _, it := range env.Items(t, alice, thread) {
		got = append(got, ck.ItemText(it))
	}
	want := []string{"hello", ck.EchoText("hello"), "gate", ck.EchoText("gate"), "second", ck.EchoText("second")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("thread after two simultaneous messages: %s", diff)
	}
	for i, evs := range results {
		if last := evs[len(evs)-1]; last["type"] != "thread.item.done" {
			t.Errorf("request %d ended with %v", i, last)
		}
	}
}

// With a short wait limit the second request is refused with a clear 409 instead.
func TestBusyThreadIsRefusedAfterWaitLimit(t *testing.T) {
	t.Parallel()
	r := &ck.Scripted{Started: make(chan struct{}, 1), Gate: make(chan struct{})}
	env := ck.NewEnv(t, r, ck.EnvOptions{Store: chatstore.Options{LockWait: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond}})
	thread, _ := env.CreateThread(t, alice, "hello")
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.AddMessage(t, alice, thread, "gate")
	}()
	<-r.Started
	busy := env.Do(t, alice, ck.Req("threads.add_user_message", obj{"thread_id": thread, "input": ck.Input("impatient")}))
	close(r.Gate)
	<-done
	if busy.Status != http.StatusConflict || busy.JSON["error"].(obj)["code"] != "thread_busy" {
		t.Fatalf("second request: %d %s", busy.Status, busy.Raw)
	}
	if items := env.Items(t, alice, thread); len(items) != 4 {
		t.Errorf("the refused message was stored: %d items", len(items))
	}
}

// A responder's last output (DoneLast) is stored as the thread is given back: the turn ends
// with that one round trip, nothing can be written after it, and the next turn takes the
// thread at once.
func TestLastOutputGivesTheThreadBack(t *testing.T) {
	t.Parallel()
	counter := &ck.ReleaseCounter{}
	env := ck.NewEnv(t, &ck.Scripted{}, ck.EnvOptions{
		Store:     chatstore.Options{LockWait: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond},
		WrapStore: func(s chatkit.Store) chatkit.Store { counter.Store = s; return counter },
	})
	thread, _ := env.CreateThread(t, alice, "hello")
	if n := counter.ReleasesWith.Load(); n != 0 {
		t.Fatalf("an ordinary answer gave the thread back with its item %d times", n)
	}
	events := env.AddMessage(t, alice, thread, "last")
	var types []string
	for _, ev := range events {
		types = append(types, ev["type"].(string))
		if ev["type"] == "error" {
			t.Fatalf("the turn failed: %v", ev)
		}
	}
	if last := types[len(types)-1]; last != "thread.item.done" {
		t.Errorf("frames %v: want the answer's thread.item.done last", types)
	}
	if n := counter.ReleasesWith.Load(); n != 1 {
		t.Errorf("ReleaseWith calls = %d, want 1", n)
	}
	var stored []string
	for _, it := range env.Items(t, alice, thread) {
		stored = append(stored, it["type"].(string))
	}
	if want := []string{"user_message", "assistant_message", "user_message", "assistant_message"}; !slices.Equal(stored, want) {
		t.Errorf("stored items %v, want %v (no widget after the last output)", stored, want)
	}
	// LockWait is 50 ms: a thread still held would be refused.
	if r := env.Do(t, alice, ck.Req("threads.add_user_message", obj{"thread_id": thread, "input": ck.Input("again")})); r.Status != http.StatusOK {
		t.Fatalf("the next message: %d %s", r.Status, r.Raw)
	}
}
