package tasktools

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// referenceArgs decodes arguments the plain way, with encoding/json into a map and then once
// per argument; parseArgs and the getters must answer exactly as it does.
type referenceArgs map[string]json.RawMessage

func (r referenceArgs) get(name string, v any) (ok bool, err error) {
	raw, present := r[name]
	if !present || string(raw) == "null" {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

var argNames = []string{"title", "tags", "completed", "task_id", "ti\"tle", "ünï"}

// checkArgs compares parseArgs and every getter with referenceArgs on one arguments object.
func checkArgs(t *testing.T, raw string) {
	t.Helper()
	a, err := parseArgs(mcp.CallToolRequest{Params: mcp.CallToolParams{RawArguments: json.RawMessage(raw)}}, argNames)
	var ref referenceArgs
	var refErr error
	if trimmed := strings.TrimSpace(raw); trimmed != "" && trimmed != "null" { // no arguments
		refErr = json.Unmarshal([]byte(raw), &ref)
	}
	if refErr != nil {
		if err == nil || err.Error() != "arguments must be a JSON object" {
			t.Fatalf("%q: encoding/json refuses it (%v), parseArgs says %v", raw, refErr, err)
		}
		return
	}
	// With several unknown names, either may be the one named (encoding/json's map has no order).
	var unknown []string
	for name := range ref {
		if !slices.Contains(argNames, name) {
			unknown = append(unknown, fmt.Sprintf("unknown argument %q: this tool takes only ", name))
		}
	}
	if len(unknown) > 0 {
		if err == nil || !slices.ContainsFunc(unknown, func(want string) bool { return strings.HasPrefix(err.Error(), want) }) {
			t.Fatalf("%q: want one of %q, got %v", raw, unknown, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	for _, name := range argNames {
		if got, want := a.present(name), ref[name] != nil; got != want {
			t.Errorf("%q: present(%s) = %v, want %v", raw, name, got, want)
		}
		if got, want := a.null(name), string(ref[name]) == "null"; got != want {
			t.Errorf("%q: null(%s) = %v, want %v", raw, name, got, want)
		}
		compareGet(t, raw, name, ref, getString)
		compareGet(t, raw, name, ref, getStrings)
		compareGet(t, raw, name, ref, getBool)
		compareGet(t, raw, name, ref, getInt)
	}
}

// compareGet checks one getter against encoding/json decoding the argument into a T.
func compareGet[T any](t *testing.T, raw, name string, ref referenceArgs, get func(args, string) (T, bool, error)) {
	t.Helper()
	a, _ := parseArgs(mcp.CallToolRequest{Params: mcp.CallToolParams{RawArguments: json.RawMessage(raw)}}, argNames)
	got, gotOK, gotErr := get(a, name)
	var want T
	wantOK, wantErr := ref.get(name, &want)
	if wantErr != nil {
		if gotErr == nil {
			t.Errorf("%q: %s as %T: encoding/json fails (%v), the getter gives %v", raw, name, want, wantErr, got)
		}
		return
	}
	if gotErr != nil || gotOK != wantOK || !reflect.DeepEqual(got, want) {
		t.Errorf("%q: %s as %T = %#v, %v, %v; want %#v, %v", raw, name, want, got, gotOK, gotErr, want, wantOK)
	}
}

// argsCases are objects and non-objects that exercise the splitting and each getter.
var argsCases = []string{
	``, `null`, ` null `, `{}`, ` { } `, `[]`, `"title"`, `7`, `{`, `{"title":"x"`, `{"title":"x"} x`, `{"title" "x"}`,
	`{"title":"Buy milk","tags":["home","work"],"completed":true,"task_id":42}`,
	"\n{ \"title\" :\t\"spaced\" ,\r\n \"task_id\" : -7 }",
	`{"title":"a \"quoted\" \\ value \u00e9 \ud83c\udf89 \ud800 /\/","tags":[]}`,
	"{\"title\":\"invalid \xff utf-8\"}",
	"{\"ti\xfftle\":1}",
	`{"ti\u0074le":"escaped key"}`, `{"ti\"tle":1}`, `{"ünï":"x"}`, `{"user_id":"bob"}`, `{"title":"x","user_id":1}`, `{"7":"1","Y1z":1}`,
	`{"title":"first","title":"second"}`, `{"title":"x","title":null}`,
	`{"title":null,"tags":null,"completed":null,"task_id":null}`,
	`{"title":7,"tags":"work","completed":"yes","task_id":"one"}`,
	`{"title":{"a":[1,{"b":"}]"}]},"tags":[1],"completed":0,"task_id":1.0}`,
	`{"tags":["a",null],"task_id":1e2}`, `{"task_id":-0}`, `{"task_id":9223372036854775807}`,
	`{"task_id":9223372036854775808}`, `{"task_id":-9223372036854775808}`, `{"task_id":true}`,
	`{"completed":false}`, `{"completed":[true]}`, `{"title":["x"]}`, `{"title":""}`,
}

func TestArgsMatchEncodingJSON(t *testing.T) {
	for _, raw := range argsCases {
		checkArgs(t, raw)
	}
}

func FuzzArgs(f *testing.F) {
	for _, raw := range argsCases {
		f.Add(raw)
	}
	f.Fuzz(checkArgs)
}

// BenchmarkArgs reads add_task's arguments both ways: encoding/json into a map and once per
// argument, as the tools did, and parseArgs with its getters.
func BenchmarkArgs(b *testing.B) {
	raw := json.RawMessage(`{"title":"Buy groceries","description":"milk, eggs","priority":"high","tags":["home"],"due":"2030-01-02","timezone":"Europe/Berlin"}`)
	allowed := propertyNames(specs[0].input)
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var ref referenceArgs
			if err := json.Unmarshal(raw, &ref); err != nil {
				b.Fatal(err)
			}
			var s string
			var tags []string
			for _, name := range allowed {
				var err error
				if name == "tags" {
					_, err = ref.get(name, &tags)
				} else {
					_, err = ref.get(name, &s)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("parseArgs", func(b *testing.B) {
		b.ReportAllocs()
		req := mcp.CallToolRequest{Params: mcp.CallToolParams{RawArguments: raw}}
		for b.Loop() {
			a, err := parseArgs(req, allowed)
			if err != nil {
				b.Fatal(err)
			}
			for _, name := range allowed {
				if name == "tags" {
					_, _, err = getStrings(a, name)
				} else {
					_, _, err = getString(a, name)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
