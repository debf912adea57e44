package chatkittest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
	"github.com/taskwire/taskwire/chatproxy/proxyhttp"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
)

// Secret signs the tokens of Env (HS256, as BETTER_AUTH_SECRET).
var Secret = []byte("chatkittest-secret-0123456789abcdef")

// AppOrigin is the CORS origin Env allows besides ChatKit's.
const AppOrigin = "http://localhost:3000"

// Env is the real stack over HTTP: proxyhttp (auth, CORS, limits) → chatkit.Server →
// chatstore on a fresh PostgreSQL database. The test's TestMain must run pgtest.Main.
type Env struct {
	URL    string        // base URL; the ChatKit endpoint is URL + "/chatkit"
	Pool   *pgxpool.Pool // the test database, for checks behind the API's back
	Store  *chatstore.Store
	Server *chatkit.Server
	HTTP   *http.Client
}

// EnvOptions adjust NewEnv; the zero value is fine.
type EnvOptions struct {
	Limits chatkit.Limits
	Store  chatstore.Options
	// WrapStore, if set, wraps the store the server uses (e.g. to observe calls).
	WrapStore func(chatkit.Store) chatkit.Store
}

// NewEnv starts the stack with responder behind it, stopped when the test ends.
func NewEnv(t testing.TB, responder chatkit.Responder, o EnvOptions) *Env {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := pgtest.Pool(t)
	store := chatstore.New(pool, o.Store)
	var served chatkit.Store = store
	if o.WrapStore != nil {
		served = o.WrapStore(store)
	}
	srv, err := chatkit.NewServer(chatkit.Options{Store: served, Responder: responder, Logger: logger, Limits: o.Limits})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(ctx, auth.Config{Secret: Secret})
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxyhttp.New(proxyhttp.Options{
		Verifier: verifier, ChatKit: srv, DB: store, CORSOrigins: []string{AppOrigin},
		Version: "test", Environment: "test", Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &Env{URL: ts.URL, Pool: pool, Store: store, Server: srv, HTTP: ts.Client()}
}

// Token mints a bearer token for user.
func Token(t testing.TB, user string) string {
	t.Helper()
	tok, err := auth.Mint(Secret, auth.MintOptions{UserID: user, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Response is a ChatKit answer: the status, the JSON body (non-streaming), or the frames.
type Response struct {
	Status      int
	ContentType string
	Header      http.Header
	Raw         []byte
	JSON        map[string]any   // a JSON answer (non-streaming, or an error before streaming)
	Events      []map[string]any // an SSE answer, one map per frame
}

// Do posts body (a string is sent as is, anything else JSON-encoded) to /chatkit as user
// ("" sends no token) and reads the whole answer; frames must be well formed.
func (e *Env) Do(t testing.TB, user string, body any) Response {
	t.Helper()
	resp := e.Post(t, context.Background(), user, body)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	out := Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Header: resp.Header, Raw: raw}
	if strings.HasPrefix(out.ContentType, "text/event-stream") {
		out.Events, err = ReadSSE(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("bad SSE: %v\n%s", err, raw)
		}
		return out
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.JSON); err != nil {
			t.Fatalf("answer %d is not a JSON object: %v\n%s", resp.StatusCode, err, raw)
		}
	}
	return out
}

// Post sends body to /chatkit and returns the open response (for streams read as they go).
func (e *Env) Post(t testing.TB, ctx context.Context, user string, body any) *http.Response {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/chatkit", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+Token(t, user))
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("POST /chatkit: %v", err)
	}
	return resp
}

// ReadSSE parses a ChatKit stream strictly: only "data: <json object>" lines each followed
// by one empty line; every object has a string "type" and no null anywhere.
func ReadSSE(r io.Reader) ([]map[string]any, error) {
	var events []map[string]any
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	expectBlank := false
	for sc.Scan() {
		line := sc.Text()
		if expectBlank {
			if line != "" {
				return nil, fmt.Errorf("frame not followed by an empty line: %q", line)
			}
			expectBlank = false
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			return nil, fmt.Errorf("line does not start with \"data: \": %q", line)
		}
		ev, err := ParseEvent([]byte(data))
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
		expectBlank = true
	}
	if expectBlank {
		return nil, fmt.Errorf("stream ended inside a frame")
	}
	return events, sc.Err()
}

// ParseEvent decodes one frame's JSON and checks it is an object with a string "type" and
// no null values.
func ParseEvent(data []byte) (map[string]any, error) {
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("frame is not a JSON object: %v: %s", err, data)
	}
	if _, ok := ev["type"].(string); !ok {
		return nil, fmt.Errorf("frame without a string type: %s", data)
	}
	if path := findNull(ev, "$"); path != "" {
		return nil, fmt.Errorf("frame has null at %s: %s", path, data)
	}
	return ev, nil
}

func findNull(v any, path string) string {
	switch v := v.(type) {
	case nil:
		return path
	case map[string]any:
		for k, e := range v {
			if p := findNull(e, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range v {
			if p := findNull(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

// Types lists the frames' types, for compact assertions.
func Types(events []map[string]any) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = ev["type"].(string)
	}
	return out
}

// Input is a composer input as the real client sends it.
func Input(text string) map[string]any {
	return map[string]any{
		"content":           []any{map[string]any{"type": "input_text", "text": text}},
		"attachments":       []any{},
		"quoted_text":       "",
		"inference_options": map[string]any{},
	}
}

// Req builds a request body.
func Req(typ string, params map[string]any) map[string]any {
	return map[string]any{"type": typ, "params": params}
}

// CreateThread runs threads.create with text and returns the new thread id and the frames.
func (e *Env) CreateThread(t testing.TB, user, text string) (string, []map[string]any) {
	t.Helper()
	r := e.Do(t, user, Req("threads.create", map[string]any{"input": Input(text)}))
	if r.Status != http.StatusOK || len(r.Events) == 0 || r.Events[0]["type"] != "thread.created" {
		t.Fatalf("threads.create: %d %s", r.Status, r.Raw)
	}
	return r.Events[0]["thread"].(map[string]any)["id"].(string), r.Events
}

// AddMessage runs threads.add_user_message and returns the frames.
func (e *Env) AddMessage(t testing.TB, user, threadID, text string) []map[string]any {
	t.Helper()
	r := e.Do(t, user, Req("threads.add_user_message", map[string]any{"thread_id": threadID, "input": Input(text)}))
	if r.Status != http.StatusOK {
		t.Fatalf("threads.add_user_message: %d %s", r.Status, r.Raw)
	}
	return r.Events
}

// Items lists every visible item of a thread, oldest first, following cursors.
func (e *Env) Items(t testing.TB, user, threadID string) []map[string]any {
	t.Helper()
	var all []map[string]any
	params := map[string]any{"thread_id": threadID, "order": "asc", "limit": 100}
	for {
		r := e.Do(t, user, Req("items.list", params))
		if r.Status != http.StatusOK {
			t.Fatalf("items.list: %d %s", r.Status, r.Raw)
		}
		for _, it := range r.JSON["data"].([]any) {
			all = append(all, it.(map[string]any))
		}
		if r.JSON["has_more"] != true {
			return all
		}
		params["after"] = r.JSON["after"]
	}
}

// ItemText is the text of a user or assistant message item.
func ItemText(item map[string]any) string {
	var b strings.Builder
	for _, c := range item["content"].([]any) {
		b.WriteString(c.(map[string]any)["text"].(string))
	}
	return b.String()
}

// ReleaseCounter is a Store (for EnvOptions.WrapStore) that counts how the thread locks it
// hands out are given back: ReleaseWith ends a turn with its last item, Release is called
// at the end of every turn (and does nothing after a successful ReleaseWith).
type ReleaseCounter struct {
	chatkit.Store
	Releases, ReleasesWith atomic.Int64
}

// LockThread implements chatkit.Store.
func (c *ReleaseCounter) LockThread(ctx context.Context, userID, threadID string, start chatkit.TurnStart) (*chatkit.LockedThread, error) {
	l, err := c.Store.LockThread(ctx, userID, threadID, start)
	if l != nil {
		l.ThreadLock = countedLock{ThreadLock: l.ThreadLock, c: c}
	}
	return l, err
}

type countedLock struct {
	chatkit.ThreadLock
	c *ReleaseCounter
}

func (l countedLock) Release() {
	l.c.Releases.Add(1)
	l.ThreadLock.Release()
}

func (l countedLock) ReleaseWith(ctx context.Context, item chatkit.Item) error {
	l.c.ReleasesWith.Add(1)
	return l.ThreadLock.ReleaseWith(ctx, item)
}
