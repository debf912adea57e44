// Package taskstore holds the task rules — what a valid task is, how due dates are written,
// which user owns what — and applies them to PostgreSQL through the sqlc queries in db/.
// Every method takes the user as an argument that callers fill from verified credentials,
// never from tool arguments, and every query filters by it.
package taskstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskwire/taskwire/db"
)

// Limits of a task, shared by validation and the tool schemas that advertise them.
const (
	MaxTitle       = 200
	MaxDescription = 4000
	MaxTags        = 10
	MaxTag         = 32
	MaxQuery       = 200
)

// Priorities in rising order; "none" is the default.
var Priorities = db.Priorities

// Task is one task as clients see it. Optional values are null rather than missing, so the
// shape is the same for every task.
type Task struct {
	TaskID      int64      `json:"task_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at"`
	Due         *Due       `json:"due"`
	Priority    string     `json:"priority"`
	Tags        []string   `json:"tags"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	// Repeat is the task's RFC 5545 recurrence rule, or nil.
	Repeat *string `json:"repeat"`
	// DeletedAt is when the task went to the trash; nil for every task but the trash's.
	DeletedAt *time.Time `json:"deleted_at"`
}

// Due is when a task is due: either a whole day (HasTime false, At is midnight UTC of that
// date, standing for the date itself) or an instant. People mostly say "due Friday", and
// showing that back as a midnight timestamp would be wrong in every time zone but one. The
// day is the user's: where it starts is decided by the user's time zone when it is stored.
type Due struct {
	At      time.Time
	HasTime bool
}

const dateLayout = "2006-01-02"

// ParseDue reads "YYYY-MM-DD" or an RFC 3339 time; field names the argument in the error.
func ParseDue(field, s string) (Due, error) {
	s = strings.TrimSpace(s)
	if d, err := time.Parse(dateLayout, s); err == nil {
		return Due{At: d}, nil
	}
	// An instant is shown back in UTC, so it must have a four-digit year there too.
	if t, err := time.Parse(time.RFC3339, s); err == nil && t.UTC().Year() >= 1 && t.UTC().Year() <= 9999 {
		return Due{At: t.UTC(), HasTime: true}, nil
	}
	return Due{}, invalidf("%s must be a date YYYY-MM-DD or an RFC 3339 time such as 2026-12-01T15:00:00Z, got %q", field, s)
}

// String gives the form ParseDue reads.
func (d Due) String() string {
	return d.At.UTC().Format(d.layout())
}

func (d Due) layout() string {
	if d.HasTime {
		return time.RFC3339
	}
	return dateLayout
}

// MarshalJSON writes the due date as a string in the form it was given.
func (d Due) MarshalJSON() ([]byte, error) {
	return d.appendJSON(nil), nil
}

// end is the first instant after the due date or time: for a whole day, the next midnight.
func (d Due) end() time.Time {
	if d.HasTime {
		return d.At.Add(time.Microsecond)
	}
	return d.At.AddDate(0, 0, 1)
}

// Kind tells apart the failures a caller can fix.
type Kind int

const (
	// Invalid input: the message says which argument and what is allowed.
	Invalid Kind = iota + 1
	// NotFound: no such task for this user (also when it is another user's).
	NotFound
)

// Error is a failure caused by the request, with a message that is safe to show to a client
// and precise enough for a model to correct its call. Any other error from this package is
// internal and must not reach a client.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &Error{Kind: Invalid, Msg: fmt.Sprintf(format, args...)}
}

func notFound(taskID int64) error {
	return &Error{Kind: NotFound, Msg: fmt.Sprintf("task %d not found", taskID)}
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// cleanTitle trims a title and checks its length in characters, as PostgreSQL counts them.
func cleanTitle(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > MaxTitle {
		return "", invalidf("title must be 1–%d characters after trimming spaces, got %d", MaxTitle, n)
	}
	return s, checkText("title", s)
}

func cleanDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > MaxDescription {
		return "", invalidf("description must be at most %d characters, got %d", MaxDescription, n)
	}
	return s, checkText("description", s)
}

// checkText refuses NUL, which PostgreSQL text cannot hold: better a clear error than an
// internal one.
func checkText(field, s string) error {
	if strings.ContainsRune(s, 0) {
		return invalidf("%s must not contain NUL characters", field)
	}
	return nil
}

// cleanPriority accepts a priority in any letter case.
func cleanPriority(s string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(s))
	if !slices.Contains(Priorities, p) {
		return "", invalidf("priority must be one of %s, got %q", strings.Join(Priorities, ", "), s)
	}
	return p, nil
}

// cleanTag trims and lower-cases a tag, so "Work" and "work " are the same label.
func cleanTag(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if n := utf8.RuneCountInString(t); n < 1 || n > MaxTag {
		return "", invalidf("each tag must be 1–%d characters, got %q", MaxTag, s)
	}
	return t, checkText("tag", t)
}

// cleanTags normalizes tags, drops repeats and keeps the given order. The result is never
// nil: the column is NOT NULL.
func cleanTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, s := range tags {
		t, err := cleanTag(s)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, invalidf("at most %d tags are allowed, got %d", MaxTags, len(out))
	}
	return out, nil
}

func checkTaskID(id int64) error {
	if id < 1 {
		return invalidf("task_id must be a positive task number, got %d", id)
	}
	return nil
}
