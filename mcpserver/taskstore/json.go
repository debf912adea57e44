package taskstore

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/taskwire/taskwire/internal/jsonstr"
)

// The tool results are encoded by hand: on a page of tasks, encoding/json spends most of its
// time in reflection, in time.Time's MarshalJSON and in re-compacting the output of every
// json.Marshaler (each time and due date). The AppendJSON methods write the same bytes as
// json.Marshal with its defaults — compact, <, > and & escaped, U+2028 and U+2029 escaped,
// invalid UTF-8 replaced by U+FFFD, nil pointers and slices as null — and fail where it fails
// (a time outside RFC 3339's years 0–9999). json_test.go holds them to that.

// AppendJSON appends the task as json.Marshal writes it.
func (t Task) AppendJSON(b []byte) ([]byte, error) {
	b = slices.Grow(b, t.jsonSize())
	return t.appendJSON(b)
}

// AppendJSON appends the page as json.Marshal writes it.
func (p Page) AppendJSON(b []byte) ([]byte, error) {
	n := len(`{"tasks":[],"next_cursor":""}`) + len(p.NextCursor)
	for i := range p.Tasks {
		n += p.Tasks[i].jsonSize() + 1
	}
	b = slices.Grow(b, n)
	b = append(b, `{"tasks":`...)
	if p.Tasks == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Tasks {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = p.Tasks[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if p.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = jsonstr.Append(b, p.NextCursor, jsonstr.HTML)
	}
	return append(b, '}'), nil
}

// AppendJSON appends the report as json.Marshal writes it.
func (d Deleted) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"task_id":`...)
	b = strconv.AppendInt(b, d.TaskID, 10)
	b = append(b, `,"title":`...)
	b = jsonstr.Append(b, d.Title, jsonstr.HTML)
	b = append(b, `,"deleted":`...)
	b = strconv.AppendBool(b, d.Deleted)
	b = append(b, `,"restorable_until":`...)
	b, err := appendTime(b, "restorable_until", d.RestorableUntil)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// taskJSONSize is the length of a task's JSON with empty strings, nulls where it may, and
// times to the microsecond as PostgreSQL keeps them; optionalJSONSize is about what a time
// or a due date adds in place of a null.
const (
	taskJSONSize     = 240
	optionalJSONSize = 26
)

// jsonSize estimates the length of the task's JSON, so that a page is written into one
// buffer instead of one that grows and is copied many times.
func (t *Task) jsonSize() int {
	n := taskJSONSize + len(t.Title) + len(t.Description) + len(t.Priority)
	for _, tag := range t.Tags {
		n += len(tag) + len(`"",`)
	}
	if t.Repeat != nil {
		n += len(*t.Repeat) + len(`""`)
	}
	if t.CompletedAt != nil {
		n += optionalJSONSize
	}
	if t.Due != nil {
		n += optionalJSONSize
	}
	if t.DeletedAt != nil {
		n += optionalJSONSize
	}
	return n
}

func (t *Task) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"task_id":`...)
	b = strconv.AppendInt(b, t.TaskID, 10)
	b = append(b, `,"title":`...)
	b = jsonstr.Append(b, t.Title, jsonstr.HTML)
	b = append(b, `,"description":`...)
	b = jsonstr.Append(b, t.Description, jsonstr.HTML)
	b = append(b, `,"completed":`...)
	b = strconv.AppendBool(b, t.Completed)
	b = append(b, `,"completed_at":`...)
	if b, err = appendTimePtr(b, "completed_at", t.CompletedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"due":`...)
	if t.Due == nil {
		b = append(b, "null"...)
	} else {
		b = t.Due.appendJSON(b)
	}
	b = append(b, `,"priority":`...)
	b = jsonstr.Append(b, t.Priority, jsonstr.HTML)
	b = append(b, `,"tags":`...)
	if t.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, tag := range t.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, tag, jsonstr.HTML)
		}
		b = append(b, ']')
	}
	b = append(b, `,"created_at":`...)
	if b, err = appendTime(b, "created_at", t.CreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendTime(b, "updated_at", t.UpdatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"repeat":`...)
	if t.Repeat == nil {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, *t.Repeat, jsonstr.HTML)
	}
	b = append(b, `,"deleted_at":`...)
	if b, err = appendTimePtr(b, "deleted_at", t.DeletedAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendJSON writes the due date as a string in the form it was given (Due.String), which
// never needs escaping.
func (d Due) appendJSON(b []byte) []byte {
	b = append(b, '"')
	b = d.At.UTC().AppendFormat(b, d.layout())
	return append(b, '"')
}

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with nanoseconds, never
// needing escaping), and fails as it does; name says which field in the error.
func appendTime(b []byte, name string, t time.Time) ([]byte, error) {
	b, err := t.AppendText(append(b, '"'))
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return append(b, '"'), nil
}

func appendTimePtr(b []byte, name string, t *time.Time) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	return appendTime(b, name, *t)
}
