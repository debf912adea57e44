package tasktools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

// argErrorf is an argument error whose message goes back to the client.
func argErrorf(format string, a ...any) error {
	return &taskstore.Error{Kind: taskstore.Invalid, Msg: fmt.Sprintf(format, a...)}
}

// args are a tool call's arguments, decoded one by one so that every mistake gets a message
// naming the argument, in words a model can act on ("due must be a string") rather than a
// JSON decoder's or a schema validator's.
type args struct {
	raw map[string]json.RawMessage
}

// parseArgs decodes the arguments object and refuses names the tool does not take — above
// all a user id, which must never come from a model.
func parseArgs(req mcp.CallToolRequest, allowed []string) (args, error) {
	var raw json.RawMessage
	if len(req.Params.RawArguments) > 0 {
		raw = req.Params.RawArguments
	} else if req.Params.Arguments != nil {
		b, err := json.Marshal(req.Params.Arguments)
		if err != nil {
			return args{}, argErrorf("arguments must be a JSON object")
		}
		raw = b
	}
	a := args{raw: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return a, nil
	}
	if err := json.Unmarshal(raw, &a.raw); err != nil {
		return args{}, argErrorf("arguments must be a JSON object")
	}
	for name := range a.raw {
		if !slices.Contains(allowed, name) {
			takes := "no arguments"
			if len(allowed) > 0 {
				takes = "only " + strings.Join(allowed, ", ")
			}
			return args{}, argErrorf("unknown argument %q: this tool takes %s", name, takes)
		}
	}
	return a, nil
}

// present reports whether the argument was given, even as null.
func (a args) present(name string) bool {
	_, ok := a.raw[name]
	return ok
}

// null reports whether the argument was given as an explicit null.
func (a args) null(name string) bool {
	v, ok := a.raw[name]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// get decodes argument name into a T. Absent and null both give ok=false; callers that must
// tell them apart ask null first. what is the type in words, for the error message.
func get[T any](a args, name, what string) (v T, ok bool, err error) {
	if !a.present(name) || a.null(name) {
		return v, false, nil
	}
	if err := json.Unmarshal(a.raw[name], &v); err != nil {
		return v, false, argErrorf("%s must be %s", name, what)
	}
	return v, true, nil
}

func getString(a args, name string) (string, bool, error) {
	return get[string](a, name, "a string")
}

func getStrings(a args, name string) ([]string, bool, error) {
	return get[[]string](a, name, "an array of strings")
}

func getBool(a args, name string) (bool, bool, error) {
	return get[bool](a, name, "true or false")
}

func getInt(a args, name string) (int64, bool, error) {
	return get[int64](a, name, "an integer")
}

// requireTaskID reads the task_id every single-task tool needs.
func requireTaskID(a args) (int64, error) {
	id, ok, err := getInt(a, "task_id")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, argErrorf("task_id is required: the task's number, as shown by list_tasks")
	}
	return id, nil
}
