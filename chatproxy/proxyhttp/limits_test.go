package proxyhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/chatproxy/proxyhttp"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
)

const actionBody = `{"type":"threads.custom_action","params":{"thread_id":"thr_1","item_id":"wdg_1","action":{"type":"task.complete","payload":{"task_id":1}}}}`

const createBody = `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}`

// limitedServer serves chatproxy's edge with limits over handlers that answer at once,
// except that a body of "block" waits until release is closed.
func limitedServer(t *testing.T, l proxyhttp.Limits, gate *httpedge.DBGate) (url string, release chan struct{}, entered chan struct{}) {
	t.Helper()
	release, entered = make(chan struct{}), make(chan struct{}, 10)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), "block") {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, string(b))
	})
	v, err := auth.NewVerifier(t.Context(), auth.Config{Secret: ck.Secret})
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxyhttp.New(proxyhttp.Options{Verifier: v, ChatKit: echo, DB: pinger(func(context.Context) error { return nil }),
		Limits: l, Gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	h.Turn("POST /api/chat", echo)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, release, entered
}

// Turns (ChatKit streaming requests and /api/chat) are rate-limited per user with 429 and
// Retry-After; ChatKit requests that run no model turn (lists, widget actions) are not
// counted; other users are unaffected.
func TestTurnRateLimit(t *testing.T) {
	t.Parallel()
	url, _, _ := limitedServer(t, proxyhttp.Limits{TurnsPerMinute: 6, TurnBurst: 2}, nil)
	alice := map[string]string{"Authorization": "Bearer " + ck.Token(t, "alice")}
	bob := map[string]string{"Authorization": "Bearer " + ck.Token(t, "bob")}
	steps := []struct {
		name, path, body string
		who              map[string]string
		status           int
	}{
		{"first turn", "/chatkit", createBody, alice, 200},
		{"list is not a turn", "/chatkit", listBody, alice, 200},
		{"second turn, by /api/chat", "/api/chat", `{"message":"hi"}`, alice, 200},
		{"third turn: over the burst", "/chatkit", createBody, alice, 429},
		{"over the burst on /api/chat too", "/api/chat", `{"message":"hi"}`, alice, 429},
		{"a turn hidden behind a case-folded duplicate key still counts", "/chatkit",
			strings.Replace(createBody, `{"type":"threads.create",`, `{"type":"threads.create","Type":"threads.list",`, 1), alice, 429},
		{"still not a turn", "/chatkit", listBody, alice, 200},
		{"a widget action runs no model: not a turn", "/chatkit", actionBody, alice, 200},
		{"another user", "/chatkit", createBody, bob, 200},
	}
	for _, s := range steps {
		resp, raw := do(t, http.MethodPost, url+s.path, s.body, s.who)
		if resp.StatusCode != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, resp.StatusCode, raw, s.status)
		}
		if s.status == 429 && (resp.Header.Get("Retry-After") != "10" || !strings.Contains(string(raw), `"code":"rate_limited"`) || !strings.Contains(string(raw), `"retry_after":10`)) {
			t.Errorf("%s: Retry-After %q, body %s", s.name, resp.Header.Get("Retry-After"), raw)
		}
	}
}

// A user cannot hold more than MaxStreams turns open at once; the next waits for one to end.
func TestStreamCap(t *testing.T) {
	t.Parallel()
	url, release, entered := limitedServer(t, proxyhttp.Limits{MaxStreams: 2}, nil)
	alice := map[string]string{"Authorization": "Bearer " + ck.Token(t, "alice")}
	block := strings.Replace(createBody, `"hi"`, `"block"`, 1)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { do(t, http.MethodPost, url+"/chatkit", block, alice) })
		<-entered
	}
	resp, raw := do(t, http.MethodPost, url+"/api/chat", `{"message":"hi"}`, alice)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "too_many_streams") {
		t.Fatalf("third open turn: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := do(t, http.MethodPost, url+"/chatkit", actionBody, alice); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a widget action holds a stream too: %d, want 429 at the cap", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodPost, url+"/chatkit", createBody, map[string]string{"Authorization": "Bearer " + ck.Token(t, "bob")}); resp.StatusCode != 200 {
		t.Fatalf("another user: %d", resp.StatusCode)
	}
	close(release)
	wg.Wait()
	if resp, raw := do(t, http.MethodPost, url+"/api/chat", `{"message":"hi"}`, alice); resp.StatusCode != 200 {
		t.Fatalf("after the streams ended: %d %s", resp.StatusCode, raw)
	}
}

// While the database is away, ChatKit and turn routes answer 503 with Retry-After.
func TestDatabaseGate(t *testing.T) {
	t.Parallel()
	gate := httpedge.NewDBGate(nil, nil)
	url, _, _ := limitedServer(t, proxyhttp.Limits{}, gate)
	alice := map[string]string{"Authorization": "Bearer " + ck.Token(t, "alice")}
	gate.Report(context.Background(), errors.New("connection refused"))
	for _, path := range []string{"/chatkit", "/api/chat"} {
		resp, raw := do(t, http.MethodPost, url+path, createBody, alice)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(raw), `"code":"unavailable"`) {
			t.Errorf("%s with the database away: %d %v %s", path, resp.StatusCode, resp.Header, raw)
		}
	}
	// Without a token the answer is still 401: nothing is said to strangers.
	if resp, _ := do(t, http.MethodPost, url+"/chatkit", createBody, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token while the database is away: %d", resp.StatusCode)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		db     error
		status int
		body   string
	}{
		{"serving", nil, 200, `{"status":"ready"}`},
		{"database down", errors.New("refused"), 503, `{"status":"unavailable"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t, pinger(func(context.Context) error { return tc.db }))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
			if rec.Code != tc.status || strings.TrimSpace(rec.Body.String()) != tc.body {
				t.Errorf("/ready = %d %s", rec.Code, rec.Body)
			}
		})
	}
}
