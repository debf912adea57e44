package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestWorkloadsMatchGeneratedSQL reads the real sqlc output, as a run does, and checks that
// every workload names its query's parameters correctly and prepares its exact text.
func TestWorkloadsMatchGeneratedSQL(t *testing.T) {
	for _, w := range workloads {
		t.Run(w.tool, func(t *testing.T) {
			q, err := loadQuery("../../db", w.method)
			if err != nil {
				t.Fatal(err)
			}
			script, err := pgbenchScript(q, "stmt", 10, w.values)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(script, "PREPARE stmt AS "+strings.TrimSpace(q.sql)) {
				t.Errorf("the script does not prepare the generated text:\n%s", script)
			}
			if !strings.Contains(script, `\set uid random(0, 9)`) || !strings.Contains(script, "EXECUTE stmt(") {
				t.Errorf("no random user or EXECUTE in:\n%s", script)
			}
			if got := strings.Count(script[strings.Index(script, "EXECUTE"):], ",") + 1; got != len(q.params) {
				t.Errorf("EXECUTE passes %d arguments, the statement has %d parameters", got, len(q.params))
			}
		})
	}
}

func TestExecuteRefusesAMismatch(t *testing.T) {
	q := query{name: "X", params: []string{"UserID", "Limit", "Tag"}, nullable: map[string]bool{"Tag": true}}
	for _, tc := range []struct {
		name   string
		values map[string]string
		want   string // "" = success, else part of the error
		exec   string
	}{
		{"nullable left out is NULL", map[string]string{"UserID": "'u'", "Limit": "5"}, "", "EXECUTE s('u', 5, NULL);"},
		{"required left out", map[string]string{"UserID": "'u'"}, "no value for its parameter Limit", ""},
		{"unknown parameter", map[string]string{"UserID": "'u'", "Limit": "5", "Sort": "'due'"}, "has no parameter Sort", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := q.execute("s", tc.values)
			if tc.want == "" {
				if err != nil || got != tc.exec {
					t.Fatalf("got %q, %v; want %q", got, err, tc.exec)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadQueryUnknownMethod(t *testing.T) {
	_, err := loadQuery("../../db", "NoSuchQuery")
	if err == nil || !strings.Contains(err.Error(), "InsertTask") {
		t.Fatalf("error %v, want one listing the queries there are", err)
	}
}

func TestTable(t *testing.T) {
	ms := time.Millisecond
	rows := []row{{
		workload: "list_tasks", concurrency: 8,
		ceiling: []point{{rate: 12000, p50: ms, p99: 3 * ms}, {rate: 12096, p50: 3 * ms, p99: 5 * ms}},
		server:  []point{{rate: 3000, p50: 2 * ms, p99: 9 * ms}, {rate: 4000, p50: 4 * ms, p99: 11 * ms}},
	}}
	var out bytes.Buffer
	writeTable(&out, rows)
	want := "| list_tasks | 8 | 12,048 | 2.00 ms / 4.00 ms | 3,500 | 3.00 ms / 10.00 ms | **0.29** |"
	if !strings.Contains(out.String(), want) {
		t.Errorf("table:\n%s\nwant the row\n%s", out.String(), want)
	}
}

func TestPercentile(t *testing.T) {
	lat := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	p := newPoint(lat, 2*time.Second)
	if p.p50 != 5 || p.p99 != 10 || p.rate != 5 || p.n != 10 {
		t.Errorf("got %+v, want p50 5, p99 10, rate 5/s, n 10", p)
	}
}

func TestParseConfigRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-duration", "1h"}, {"-reps", "0"}, {"-concurrency", "1,x"},
		{"-concurrency", "1000"}, {"-tools", "drop_table"}, {"-users", "0"}, {"extra"},
		{"-profile", "/tmp/p", "-mcpserver", "/bin/true"}, {"-server-env", "GOGC"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
	c, err := parseConfig(nil, io.Discard)
	if err != nil || c.duration != 10*time.Second || c.reps != 3 || len(c.concurrency) != 3 || len(c.tools) != 2 {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

func TestProcStat(t *testing.T) {
	for i := 0; i < 2e7; i++ { // burn a little CPU, so the reading is not all zero
		_ = i * i
	}
	ppid, cpu, err := procStat(os.Getpid(), false)
	if err != nil || ppid != os.Getppid() || cpu < 0 {
		t.Fatalf("procStat(self) = ppid %d, cpu %s, %v; want ppid %d", ppid, cpu, err, os.Getppid())
	}
	// The parent's tree includes this process (a live child), so it has used at least as much.
	tree, err := postgresCPU(os.Getppid())
	if err != nil || tree < cpu {
		t.Fatalf("CPU of the parent's tree %s (%v), want at least this process's %s", tree, err, cpu)
	}
	if _, _, err := procStat(-1, false); err == nil {
		t.Error("procStat of a missing process: no error")
	}
}

// TestClientReadsRealResponses drives the load client's minimal parser against net/http's
// own server: small bodies (Content-Length), large ones (chunked), several on one
// connection, and the failures that must end a run.
func TestClientReadsRealResponses(t *testing.T) {
	big := `{"result":{"content":[{"type":"text","text":"` + strings.Repeat("x", 100_000) + `"}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case bytes.Contains(body, []byte(`"big"`)):
			_, _ = io.WriteString(w, big)
		case bytes.Contains(body, []byte(`"fail"`)):
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"code":-32000}}`)
		case bytes.Contains(body, []byte(`"tool_error"`)):
			_, _ = io.WriteString(w, `{"result":{"isError":true}}`)
		case bytes.Contains(body, []byte(`"close"`)):
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, `{"result":{}}`)
		default:
			_, _ = io.WriteString(w, `{"result":{}}`)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c := &conn{addr: host}
	defer c.close()
	for _, tc := range []struct {
		tool    string
		wantErr string
		open    bool // the connection stays open after the call
	}{
		{"small", "", true},
		{"big", "", true},
		{"small", "", true},
		{"close", "", false},
		{"small", "", true},
		{"fail", "HTTP 429", false},
		{"tool_error", "HTTP 200", false},
	} {
		err := c.call(newRequests(host, []string{"tok"}, tc.tool, `{}`)[0])
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Fatalf("%s: error %v, want %q", tc.tool, err, tc.wantErr)
		}
		if tc.tool == "big" && c.body.Len() != len(big) {
			t.Fatalf("big: read %d bytes, want %d", c.body.Len(), len(big))
		}
		if open := c.nc != nil; open != tc.open {
			t.Fatalf("%s: connection open = %v, want %v", tc.tool, open, tc.open)
		}
	}
}

func TestServerSettings(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "every CPU"},
		{[]string{"GOGC=200"}, "every CPU, GOGC=200"},
		{[]string{"GOMAXPROCS=1", "GOGC=200"}, "GOMAXPROCS=1, GOGC=200"},
	} {
		if got := serverSettings(tc.env); got != tc.want {
			t.Errorf("serverSettings(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}
