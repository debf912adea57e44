package httpedge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskwire/taskwire/internal/auth"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeVerifier accepts "alice" (all scopes) and "reader" (tasks:read only).
type fakeVerifier struct{}

func (fakeVerifier) Verify(_ context.Context, raw string) (auth.Identity, error) {
	switch raw {
	case "alice":
		return auth.Identity{UserID: "alice"}, nil
	case "reader":
		return auth.Identity{UserID: "reader", Scopes: []string{"tasks:read"}, ScopeLimited: true}, nil
	}
	return auth.Identity{}, auth.ErrInvalidToken
}

func TestBearer(t *testing.T) {
	const meta = "https://tasks.example/.well-known/oauth-protected-resource/mcp"
	b := Bearer{
		Verifier:         fakeVerifier{},
		ResourceMetadata: func(*http.Request) string { return meta },
		Scopes:           []string{"tasks:read", "tasks:write"},
		NeededScope:      func(r *http.Request) string { return r.URL.Query().Get("need") },
		Anonymous: func(r *http.Request) (auth.Identity, bool) {
			return auth.Identity{UserID: "dev"}, r.URL.Query().Get("dev") != ""
		},
		Logger: quiet,
	}
	h := b.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.UserFrom(r.Context())
		io.WriteString(w, id.UserID)
	}))
	tests := []struct {
		name, auth, query string
		status            int
		challenge, body   string
	}{
		{"no token", "", "", 401, `Bearer resource_metadata="` + meta + `", scope="tasks:read tasks:write"`, `"code":"unauthorized"`},
		{"bad token", "Bearer nope", "", 401, `Bearer resource_metadata="` + meta + `", scope="tasks:read tasks:write", error="invalid_token"`, `"code":"invalid_token"`},
		{"other scheme", "Basic YTpi", "", 401, `Bearer resource_metadata="` + meta + `", scope="tasks:read tasks:write", error="invalid_token"`, `"code":"invalid_token"`},
		{"empty bearer", "Bearer ", "", 401, `Bearer resource_metadata="` + meta + `", scope="tasks:read tasks:write", error="invalid_token"`, `"code":"invalid_token"`},
		{"valid", "Bearer alice", "?need=tasks:write", 200, "", "alice"},
		{"unscoped token has every scope", "Bearer alice", "?need=tasks:read", 200, "", "alice"},
		{"scoped token, scope held", "Bearer reader", "?need=tasks:read", 200, "", "reader"},
		{"scoped token, scope missing", "Bearer reader", "?need=tasks:write", 403, `Bearer error="insufficient_scope", scope="tasks:write", resource_metadata="` + meta + `"`, `"code":"insufficient_scope"`},
		{"anonymous dev user", "", "?dev=1&need=tasks:write", 200, "", "dev"},
		{"a bad token is not anonymous", "Bearer nope", "?dev=1", 401, `Bearer resource_metadata="` + meta + `", scope="tasks:read tasks:write", error="invalid_token"`, `"code":"invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/mcp"+tt.query, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %s\n                     want %s", got, tt.challenge)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %s lacks %s", w.Body, tt.body)
			}
			if tt.status != 200 {
				var e ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Errorf("body %s is not the error shape: %v", w.Body, err)
				}
			}
		})
	}
}

func TestLimitBody(t *testing.T) {
	var readErr error
	h := LimitBody(10, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}))
	tests := []struct {
		name    string
		body    io.Reader
		length  int64
		status  int
		readErr bool
	}{
		{"small", strings.NewReader("12345"), 5, 200, false},
		{"declared too large", strings.NewReader(strings.Repeat("x", 11)), 11, 413, false},
		{"streamed too large", io.MultiReader(strings.NewReader(strings.Repeat("x", 11))), -1, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readErr = nil
			r := httptest.NewRequest(http.MethodPost, "/", tt.body)
			r.ContentLength = tt.length
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			var mbe *http.MaxBytesError
			if errors.As(readErr, &mbe) != tt.readErr {
				t.Fatalf("read error %v, want a MaxBytesError: %v", readErr, tt.readErr)
			}
			if tt.status == 413 && !strings.Contains(w.Body.String(), `"code":"request_too_large"`) {
				t.Errorf("body %s", w.Body)
			}
		})
	}
}

// startServer runs Server on a loopback port until the test ends or stop is called.
func startServer(t *testing.T, s Server) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once atomic.Bool
	stop = func() error {
		if !once.CompareAndSwap(false, true) {
			return nil
		}
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return ln.Addr().String(), stop
}

// A client dribbling its body is cut off at the body deadline, while normal requests — and
// a response that streams for longer than that deadline — keep working.
func TestSlowClientsAreCutOff(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("POST /stream", func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		for i := range 4 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			http.NewResponseController(w).Flush()
			time.Sleep(200 * time.Millisecond)
		}
	})
	addr, _ := startServer(t, Server{Handler: mux, Logger: quiet, BodyTimeout: 400 * time.Millisecond, ReadHeaderTimeout: 400 * time.Millisecond})

	type result struct {
		dur time.Duration
		err error
	}
	dribble := func(headersOnly bool) chan result {
		out := make(chan result, 1)
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				out <- result{err: err}
				return
			}
			defer c.Close()
			start := time.Now()
			if headersOnly {
				io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\n")
			} else {
				io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
			}
			for range 50 { // at most 5 s
				if _, err := c.Write([]byte("x")); err != nil {
					break
				}
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := c.Read(make([]byte, 512)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					break // the server closed the connection (or answered)
				}
			}
			out <- result{dur: time.Since(start)}
		}()
		return out
	}
	slowBody, slowHeaders := dribble(false), dribble(true)

	for i := range 5 {
		resp, err := http.Post("http://"+addr+"/echo", "text/plain", strings.NewReader(fmt.Sprint("hello ", i)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != fmt.Sprint("hello ", i) {
			t.Fatalf("normal request answered %q", b)
		}
	}
	resp, err := http.Post("http://"+addr+"/stream", "text/plain", strings.NewReader("go"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(b), "data:") != 4 {
		t.Fatalf("a response streaming past the body deadline was cut: %q, %v", b, err)
	}
	for name, ch := range map[string]chan result{"body": slowBody, "headers": slowHeaders} {
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.dur > 3*time.Second {
			t.Errorf("a client dribbling its %s held the connection for %v", name, r.dur)
		}
	}
}

// On drain, readiness turns 503, the listener refuses new connections, a request in flight
// finishes, and with CancelOnDrain a request's context ends with ErrDraining.
func TestDrain(t *testing.T) {
	health := &Health{Service: "test", Logger: quiet}
	started := make(chan struct{}, 2)
	var cause atomic.Value
	mux := http.NewServeMux()
	health.Mount(mux)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		cause.Store(context.Cause(r.Context()))
		io.WriteString(w, "final event")
	})

	for _, cancelOnDrain := range []bool{false, true} {
		t.Run(fmt.Sprint("CancelOnDrain=", cancelOnDrain), func(t *testing.T) {
			health.draining.Store(false)
			addr, stop := startServer(t, Server{Handler: mux, Logger: quiet, Health: health, CancelOnDrain: cancelOnDrain, ShutdownTimeout: 3 * time.Second})
			if got := getBody(t, "http://"+addr+"/ready"); got != `{"status":"ready"}` {
				t.Fatalf("/ready before drain: %s", got)
			}
			path := "/slow"
			if cancelOnDrain {
				path = "/stream"
			}
			answer := make(chan string, 1)
			go func() { answer <- getBody(t, "http://"+addr+path) }()
			<-started
			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			deadline := time.Now().Add(2 * time.Second)
			for !health.Draining() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			w := httptest.NewRecorder()
			health.ServeReady(w, httptest.NewRequest(http.MethodGet, "/ready", nil))
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "draining") {
				t.Fatalf("/ready while draining: %d %s", w.Code, w.Body)
			}
			w = httptest.NewRecorder()
			health.ServeHealth(w, httptest.NewRequest(http.MethodGet, "/health", nil))
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"status":"draining"`) {
				t.Fatalf("/health while draining: %d %s", w.Code, w.Body)
			}
			time.Sleep(50 * time.Millisecond)
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Error("a new connection was accepted while draining")
			}
			want := "finished"
			if cancelOnDrain {
				want = "final event"
			}
			if got := <-answer; got != want {
				t.Fatalf("request in flight answered %q, want %q", got, want)
			}
			if err := <-stopped; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if cancelOnDrain {
				if c, _ := cause.Load().(error); !errors.Is(c, ErrDraining) {
					t.Fatalf("cause = %v, want ErrDraining", c)
				}
			}
		})
	}
}

func getBody(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func TestRateLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewRateLimiter(2, 3, 2)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("alice", 1); !ok {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	ok, wait := l.Allow("alice", 1)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.Allow("bob", 1); !ok {
		t.Fatal("another user was limited")
	}
	if ok, wait := l.Allow("bob", 4); ok || wait != 2*time.Second {
		t.Fatalf("more than the burst at once: ok=%v wait=%v", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("alice", 1); !ok {
		t.Fatal("refused after waiting the advertised time")
	}
	if l.users.Len() > 2 {
		t.Fatalf("%d buckets kept, bound is 2", l.users.Len())
	}
	l.Allow("carol", 1)
	if l.users.Len() != 2 {
		t.Fatalf("%d buckets kept, bound is 2", l.users.Len())
	}
	if RetryAfterSeconds(500*time.Millisecond) != 1 || RetryAfterSeconds(1500*time.Millisecond) != 2 || RetryAfterSeconds(0) != 1 {
		t.Fatal("RetryAfterSeconds does not round up to whole seconds")
	}
}

func TestStreamLimit(t *testing.T) {
	s := NewStreamLimit(2)
	r1, ok1 := s.Acquire("alice")
	_, ok2 := s.Acquire("alice")
	_, ok3 := s.Acquire("alice")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("acquires = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if _, ok := s.Acquire("bob"); !ok {
		t.Fatal("another user was limited")
	}
	r1()
	r1() // releasing twice frees one slot only
	if _, ok := s.Acquire("alice"); !ok {
		t.Fatal("a released slot was not reusable")
	}
	if _, ok := s.Acquire("alice"); ok {
		t.Fatal("a double release freed two slots")
	}
}

type flakyDB struct{ down atomic.Bool }

func (f *flakyDB) Ping(context.Context) error {
	if f.down.Load() {
		return errors.New("connection refused")
	}
	return nil
}

func TestDBGate(t *testing.T) {
	db := &flakyDB{}
	g := NewDBGate(db, quiet)
	g.Interval = 40 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	serve := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
		return w
	}
	waitFor := func(down bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for g.Down() != down && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if g.Down() != down {
			t.Fatalf("gate down=%v, want %v", g.Down(), down)
		}
	}
	if w := serve(); w.Code != 200 {
		t.Fatalf("open gate answered %d", w.Code)
	}
	// A report closes the gate at once; the next ping, still failing, keeps it closed.
	db.down.Store(true)
	g.Report(context.Background(), errors.New("connection refused"))
	w := serve()
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), `"retry_after":1`) {
		t.Fatalf("closed gate answered %d %v %s", w.Code, w.Header(), w.Body)
	}
	time.Sleep(100 * time.Millisecond)
	waitFor(true)
	db.down.Store(false)
	waitFor(false)
	if w := serve(); w.Code != 200 {
		t.Fatalf("reopened gate answered %d", w.Code)
	}
	// Without a report, the gate finds an outage with its own pings.
	db.down.Store(true)
	waitFor(true)
}

func TestHealth(t *testing.T) {
	db := &flakyDB{}
	h := &Health{Service: "svc", Version: "1", Environment: "test", DB: db, Logger: quiet}
	tests := []struct {
		name                 string
		down, drain          bool
		health, ready        int
		healthBody, readyStr string
	}{
		{"serving", false, false, 200, 200, `"status":"healthy"`, `"status":"ready"`},
		{"database down", true, false, 503, 503, `"database":"unreachable"`, `"status":"unavailable"`},
		{"draining", false, true, 503, 503, `"status":"draining"`, `"status":"draining"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db.down.Store(tt.down)
			h.draining.Store(tt.drain)
			w := httptest.NewRecorder()
			h.ServeHealth(w, httptest.NewRequest(http.MethodGet, "/health", nil))
			if w.Code != tt.health || !strings.Contains(w.Body.String(), tt.healthBody) || !strings.Contains(w.Body.String(), `"service":"svc"`) {
				t.Errorf("/health = %d %s", w.Code, w.Body)
			}
			w = httptest.NewRecorder()
			h.ServeReady(w, httptest.NewRequest(http.MethodGet, "/ready", nil))
			if w.Code != tt.ready || !strings.Contains(w.Body.String(), tt.readyStr) {
				t.Errorf("/ready = %d %s", w.Code, w.Body)
			}
		})
	}
}

// WatchUnavailable learns of a Report made with its context or one derived from it, and
// only of those.
func TestWatchUnavailable(t *testing.T) {
	g := NewDBGate(&flakyDB{}, quiet)
	watched, failed := WatchUnavailable(context.Background())
	_, otherFailed := WatchUnavailable(context.Background())
	query, cancel := context.WithTimeout(watched, time.Minute) // as a query's context derives
	defer cancel()
	if failed() {
		t.Fatal("failed before any report")
	}
	g.Report(query, errors.New("connection refused"))
	if !failed() || otherFailed() {
		t.Fatalf("failed=%v other=%v, want true false", failed(), otherFailed())
	}
	if !g.Down() {
		t.Fatal("the report did not close the gate")
	}
}

// A request that meets the outage itself and ends with a server error gets the gate's 503;
// its other answers, and other requests' server errors, are left alone.
func TestDBGateReplacesOutageErrors(t *testing.T) {
	tests := []struct {
		name    string
		report  bool
		status  int
		want    int
		wantRA  string
		wantErr string
	}{
		{"met the outage, 500", true, 500, 503, "1", `"code":"unavailable"`},
		{"met the outage, but succeeded", true, 200, 200, "", "done"},
		{"met the outage, client error", true, 400, 400, "", "done"},
		{"other server error", false, 500, 500, "", "done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewDBGate(&flakyDB{}, quiet)
			h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.report {
					g.Report(r.Context(), errors.New("connection refused"))
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, "done")
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
			if w.Code != tt.want || w.Header().Get("Retry-After") != tt.wantRA || !strings.Contains(w.Body.String(), tt.wantErr) {
				t.Fatalf("%d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
			}
			if tt.want == 503 && strings.Contains(w.Body.String(), "done") {
				t.Fatalf("the handler's own body leaked into the 503: %s", w.Body)
			}
		})
	}
}
