package tasktools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
	"github.com/taskwire/taskwire/mcpserver/tasktools"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestToolListGolden pins the tool list exactly as tools/list serves it: names,
// descriptions, schemas and annotations. Run `go test ./mcpserver/tasktools -update` after a
// deliberate change and review the diff.
func TestToolListGolden(t *testing.T) {
	t.Parallel()
	s := tasktools.NewMCPServer(taskstore.New(pgtest.Pool(t)), quiet, "test", nil)
	resp := s.HandleMessage(context.Background(), json.RawMessage(toolsListBody))
	raw, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Result struct {
			Tools json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil || len(msg.Result.Tools) == 0 {
		t.Fatalf("tools/list answered %s (%v)", raw, err)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, msg.Result.Tools, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	path := filepath.Join("testdata", "tools.golden.json")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("tool list changed (-golden +now); rerun with -update if intended:\n%s", diff)
	}
}

// TestToolSchemas guards against the failure mode mcp-go hides: a schema that silently ends
// up empty, so a model sees a tool without parameters. It also pins the rules every tool
// follows: closed input objects, no user argument, an object output schema, and every
// annotation set on purpose.
func TestToolSchemas(t *testing.T) {
	t.Parallel()
	type hints struct{ readOnly, destructive, idempotent bool }
	want := map[string]struct {
		required []string
		minProps int
		hints    hints
	}{
		"add_task":      {[]string{"title"}, 7, hints{false, false, false}},
		"list_tasks":    {nil, 11, hints{true, false, true}},
		"complete_task": {[]string{"task_id"}, 2, hints{false, false, false}},
		"delete_task":   {[]string{"task_id"}, 1, hints{false, true, true}},
		"restore_task":  {[]string{"task_id"}, 1, hints{false, false, true}},
		"update_task":   {[]string{"task_id"}, 8, hints{false, true, true}},
	}
	tools := tasktools.Tools()
	if len(tools) != len(want) {
		t.Fatalf("%d tools, want %d", len(tools), len(want))
	}
	for _, tool := range tools {
		w, ok := want[tool.Name]
		if !ok {
			t.Errorf("unexpected tool %q", tool.Name)
			continue
		}
		if tool.Description == "" || tool.Title == "" {
			t.Errorf("%s: missing title or description", tool.Name)
		}
		var in struct {
			Type                 string                     `json:"type"`
			Properties           map[string]json.RawMessage `json:"properties"`
			Required             []string                   `json:"required"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
		}
		if err := json.Unmarshal(tool.RawInputSchema, &in); err != nil {
			t.Fatalf("%s input schema: %v", tool.Name, err)
		}
		if in.Type != "object" || len(in.Properties) < w.minProps || in.AdditionalProperties == nil || *in.AdditionalProperties {
			t.Errorf("%s: input schema must be a closed object with at least %d properties: %s", tool.Name, w.minProps, tool.RawInputSchema)
		}
		if diff := cmp.Diff(w.required, in.Required); diff != "" {
			t.Errorf("%s required (-want +got):\n%s", tool.Name, diff)
		}
		for _, r := range in.Required {
			if _, ok := in.Properties[r]; !ok {
				t.Errorf("%s: required %q is not a property", tool.Name, r)
			}
		}
		for name, p := range in.Properties {
			if strings.Contains(name, "user") || strings.Contains(name, "owner") {
				t.Errorf("%s takes %q: identity must never be an argument", tool.Name, name)
			}
			var prop struct {
				Type        any    `json:"type"`
				Description string `json:"description"`
			}
			if json.Unmarshal(p, &prop) != nil || prop.Type == nil || prop.Description == "" {
				t.Errorf("%s.%s: property needs a type and a description: %s", tool.Name, name, p)
			}
		}
		var out struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(tool.RawOutputSchema, &out); err != nil || out.Type != "object" || len(out.Properties) == 0 {
			t.Errorf("%s: output schema must be an object with properties: %s", tool.Name, tool.RawOutputSchema)
		}
		a := tool.Annotations
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Fatalf("%s: every annotation must be set explicitly: %+v", tool.Name, a)
		}
		got := hints{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint}
		if got != w.hints || *a.OpenWorldHint {
			t.Errorf("%s annotations = %+v openWorld=%v, want %+v openWorld=false", tool.Name, got, *a.OpenWorldHint, w.hints)
		}
	}
}
