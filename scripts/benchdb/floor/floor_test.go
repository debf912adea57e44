package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestHandlerRunsTheToolSQL: an add call stores a task for a user of the pool, a list call
// reads one back, and a database error is a 500 (benchdb stops on it, as on mcpserver's).
func TestHandlerRunsTheToolSQL(t *testing.T) {
	pool := pgtest.Pool(t)
	h := handler{q: db.New(pool), users: 1}
	post := func(body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body)))
		return rec
	}
	if rec := post(`{"params":{"name":"add_task"}}`); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"result"`) {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM tasks WHERE user_id = 'add-0' AND title = 'Buy groceries'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("tasks of add-0: %d, %v; want 1", n, err)
	}
	if rec := post(`{"params":{"name":"list_tasks"}}`); rec.Code != http.StatusOK {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	pool.Close()
	if rec := post(`{"params":{"name":"add_task"}}`); rec.Code != http.StatusInternalServerError {
		t.Fatalf("add on a closed pool: %d, want 500", rec.Code)
	}
}

func TestRunRefusesBadSetup(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	for _, tc := range []struct {
		args  []string
		users string
		host  string
	}{
		{[]string{"bench"}, "1", "127.0.0.1"},
		{[]string{"serve"}, "0", "127.0.0.1"},
		{[]string{"serve"}, "10", "0.0.0.0"},
	} {
		t.Setenv("BENCHDB_USERS", tc.users)
		t.Setenv("MCP_HOST", tc.host)
		if err := run(context.Background(), tc.args); err == nil {
			t.Errorf("run %v with BENCHDB_USERS=%s MCP_HOST=%s: no error", tc.args, tc.users, tc.host)
		}
	}
}
