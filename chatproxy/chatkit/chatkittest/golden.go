package chatkittest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Transcript records requests and the frames (or JSON answer) each got, in a form that is
// stable from run to run: ids become <id1>, <id2>… in order of appearance, and timestamps
// and durations become <time> and <duration>. Compare it with a golden file through Check.
type Transcript struct {
	b   strings.Builder
	ids map[string]string
}

// idPattern matches the ids chatkit.NewID makes (prefix, "_", 128 bits in hex).
var idPattern = regexp.MustCompile(`\b[a-z]+_[0-9a-f]{32}\b`)

// Request adds a request line: ">>> " and the body.
func (tr *Transcript) Request(body any) { tr.line(">>> ", body) }

// Answer adds what one request got: one "<<< " line per SSE frame, or its JSON answer (with
// the HTTP status when it is not 200).
func (tr *Transcript) Answer(r Response) {
	if r.Events != nil {
		for _, ev := range r.Events {
			tr.line("<<< ", ev)
		}
		return
	}
	prefix := "<<< "
	if r.Status != 200 {
		prefix = fmt.Sprintf("<<< HTTP %d ", r.Status)
	}
	tr.line(prefix, r.JSON)
}

// Exchange sends body as user through e and records the request and its answer.
func (tr *Transcript) Exchange(t testing.TB, e *Env, user string, body map[string]any) Response {
	t.Helper()
	tr.Request(body)
	r := e.Do(t, user, body)
	tr.Answer(r)
	return r
}

// Note adds a comment line, e.g. what the next exchange is about.
func (tr *Transcript) Note(text string) { tr.b.WriteString("# " + text + "\n") }

func (tr *Transcript) line(prefix string, v any) {
	if tr.ids == nil {
		tr.ids = map[string]string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep the <id1> masks readable
	if err := enc.Encode(tr.mask(v, "")); err != nil {
		fmt.Fprintf(&buf, "%q\n", fmt.Sprint(v))
	}
	tr.b.WriteString(prefix)
	tr.b.Write(buf.Bytes()) // Encode ends the line
}

// Masked returns v (a decoded JSON value) with ids, times and durations masked as the
// transcript masks them, for assertions on values taken from an answer.
func (tr *Transcript) Masked(v any) any {
	if tr.ids == nil {
		tr.ids = map[string]string{}
	}
	return tr.mask(v, "")
}

func (tr *Transcript) mask(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		// Keys in sorted order, as they are written, so ids are numbered the same every run.
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out[k] = tr.mask(x[k], k)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, child := range x {
			out[i] = tr.mask(child, key)
		}
		return out
	case string:
		if key == "created_at" || key == "updated_at" {
			return "<time>"
		}
		return idPattern.ReplaceAllStringFunc(x, func(id string) string {
			if m, ok := tr.ids[id]; ok {
				return m
			}
			m := fmt.Sprintf("<id%d>", len(tr.ids)+1)
			tr.ids[id] = m
			return m
		})
	case float64:
		if key == "duration" {
			return "<duration>"
		}
	}
	return v
}

// String is the transcript's text.
func (tr *Transcript) String() string { return tr.b.String() }

// Check compares the transcript with testdata/<name>.golden, or rewrites that file when
// update is true (tests pass their package's -update flag).
func (tr *Transcript) Check(t testing.TB, name string, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got := []byte(tr.String())
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("transcript differs from %s (rerun with -update if the change is intended):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines where want and got part.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 6; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
