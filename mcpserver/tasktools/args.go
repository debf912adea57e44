package tasktools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/internal/jsonstr"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

// argErrorf is an argument error whose message goes back to the client.
func argErrorf(format string, a ...any) error {
	return &taskstore.Error{Kind: taskstore.Invalid, Msg: fmt.Sprintf(format, a...)}
}

var errNotObject = argErrorf("arguments must be a JSON object")

// args are a tool call's arguments, decoded one by one so that every mistake gets a message
// naming the argument, in words a model can act on ("due must be a string") rather than a
// JSON decoder's or a schema validator's. The arguments object is split into its members in
// one pass over the request's bytes, and strings, integers and booleans are read from them
// directly: decoding them with encoding/json, into a map and then once per argument, was a
// twentieth of an add_task call's CPU.
type args struct {
	fields []field // in the order given
}

// field is one member of the arguments object.
type field struct {
	name string
	raw  []byte // the value's JSON, without the spaces around it
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
			return args{}, errNotObject
		}
		raw = b
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return args{}, nil
	}
	fields, err := objectFields(raw, allowed)
	if err != nil {
		return args{}, err
	}
	for _, f := range fields {
		if !slices.Contains(allowed, f.name) {
			takes := "no arguments"
			if len(allowed) > 0 {
				takes = "only " + strings.Join(allowed, ", ")
			}
			return args{}, argErrorf("unknown argument %q: this tool takes %s", f.name, takes)
		}
	}
	return args{fields: fields}, nil
}

// objectFields splits a JSON object into its members. It checks the whole text with
// json.Valid first, so the walk that follows only has to find where each key and value ends.
// Names that are in known are taken from there, so they cost no allocation.
func objectFields(data []byte, known []string) ([]field, error) {
	if !json.Valid(data) {
		return nil, errNotObject
	}
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return nil, errNotObject
	}
	fields := make([]field, 0, len(known))
	for i = skipSpace(data, i+1); data[i] != '}'; {
		end := stringEnd(data, i)
		name := keyName(data[i:end], known)
		i = skipSpace(data, skipSpace(data, end)+1) // past the colon
		end = valueEnd(data, i)
		fields = append(fields, field{name: name, raw: data[i:end]})
		if i = skipSpace(data, end); data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return fields, nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts at data[i].
func stringEnd(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++ // the escaped character cannot end the string
		}
	}
	return i + 1
}

// valueEnd returns the index just past the JSON value that starts at data[i]: the first
// comma, space or closing bracket outside any string or nested value.
func valueEnd(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = stringEnd(data, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// keyName decodes a member's name from its quoted JSON.
func keyName(quoted []byte, known []string) string {
	if s, ok := jsonstr.Unquoted(quoted); ok {
		for _, k := range known {
			if k == string(s) {
				return k
			}
		}
		return string(s)
	}
	var name string
	_ = json.Unmarshal(quoted, &name) // a valid JSON string always decodes
	return name
}

// value returns the JSON of argument name; given twice, the last one counts, as with
// encoding/json.
func (a args) value(name string) ([]byte, bool) {
	for i := len(a.fields) - 1; i >= 0; i-- {
		if a.fields[i].name == name {
			return a.fields[i].raw, true
		}
	}
	return nil, false
}

// present reports whether the argument was given, even as null.
func (a args) present(name string) bool {
	_, ok := a.value(name)
	return ok
}

// null reports whether the argument was given as an explicit null.
func (a args) null(name string) bool {
	v, ok := a.value(name)
	return ok && string(v) == "null"
}

// given returns the JSON of an argument that is present and not null. Absent and null both
// give ok=false to the getters below; callers that must tell them apart ask null first.
func (a args) given(name string) ([]byte, bool) {
	v, ok := a.value(name)
	return v, ok && string(v) != "null"
}

func getString(a args, name string) (string, bool, error) {
	v, ok := a.given(name)
	if !ok {
		return "", false, nil
	}
	if v[0] != '"' {
		return "", false, argErrorf("%s must be a string", name)
	}
	if s, ok := jsonstr.Unquoted(v); ok {
		return string(s), true, nil
	}
	var s string
	_ = json.Unmarshal(v, &s) // a valid JSON string always decodes
	return s, true, nil
}

func getStrings(a args, name string) ([]string, bool, error) {
	v, ok := a.given(name)
	if !ok {
		return nil, false, nil
	}
	var s []string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, false, argErrorf("%s must be an array of strings", name)
	}
	return s, true, nil
}

func getBool(a args, name string) (bool, bool, error) {
	v, ok := a.given(name)
	if !ok {
		return false, false, nil
	}
	switch string(v) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, argErrorf("%s must be true or false", name)
}

// getInt reads an integer as encoding/json decodes one into an int64: a number without
// fraction or exponent that fits.
func getInt(a args, name string) (int64, bool, error) {
	v, ok := a.given(name)
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false, argErrorf("%s must be an integer", name)
	}
	return n, true, nil
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
