package taskstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/taskwire/taskwire/db"
)

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Statuses and sort orders list_tasks accepts; the first of each is the default.
var (
	Statuses = []string{"all", "pending", "completed"}
	Sorts    = []string{"created", "due", "priority"}
)

// ListOptions filter, order and page a task list. Zero values mean "not given".
type ListOptions struct {
	Status    string // all | pending | completed
	Query     string // case-insensitive substring of title or description
	Tag       string
	Priority  string
	DueBefore *Due  // due strictly before (a date: before that day)
	DueAfter  *Due  // due strictly after (a date: after that day)
	Overdue   *bool // true: only pending tasks past due; false: only the others
	Sort      string
	Limit     *int
	Cursor    string
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page struct {
	Tasks      []Task `json:"tasks"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// cursor marks the last task of a page in the list's (sort key, task number) order. Filter
// is a fingerprint of the query it belongs to, so a cursor reused with other filters is
// refused instead of silently skipping tasks.
type cursor struct {
	Sort   string `json:"s"`
	Key    int64  `json:"k"`
	TaskID int64  `json:"i"`
	Filter uint64 `json:"f"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of strings and numbers always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = invalidf("cursor is not valid for this query: pass next_cursor from the previous list_tasks call with the same filters and sort, or leave cursor out to start from the beginning")

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.TaskID < 1 {
		return cursor{}, errBadCursor
	}
	return c, nil
}

// List returns one page of the user's tasks. Pages follow a keyset on (sort key, task
// number), so tasks added or changed while someone pages never make a task appear twice.
func (s *Store) List(ctx context.Context, user string, o ListOptions) (Page, error) {
	p, err := s.listParams(user, o)
	if err != nil {
		return Page{}, err
	}
	fingerprint := filterFingerprint(p)
	if o.Cursor != "" {
		c, err := decodeCursor(o.Cursor)
		if err != nil {
			return Page{}, err
		}
		if c.Sort != p.Sort || c.Filter != fingerprint {
			return Page{}, errBadCursor
		}
		p.AfterKey, p.AfterTaskID = c.Key, &c.TaskID
	}
	limit := int(p.RowLimit)
	p.RowLimit++ // one more row tells whether another page exists
	rows, err := s.q.ListTasks(ctx, p)
	if err != nil {
		return Page{}, fmt.Errorf("list tasks of %s: %w", user, err)
	}
	page := Page{Tasks: make([]Task, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = cursor{Sort: p.Sort, Key: last.SortKey, TaskID: last.Task.TaskID, Filter: fingerprint}.encode()
			break
		}
		page.Tasks = append(page.Tasks, fromRow(r.Task))
	}
	return page, nil
}

// listParams validates the options and turns them into query arguments.
func (s *Store) listParams(user string, o ListOptions) (db.ListTasksParams, error) {
	p := db.ListTasksParams{UserID: user, Now: s.now(), Overdue: o.Overdue, RowLimit: DefaultLimit}
	switch o.Status {
	case "", "all":
	case "pending", "completed":
		done := o.Status == "completed"
		p.Completed = &done
	default:
		return p, invalidf("status must be one of %s, got %q", strings.Join(Statuses, ", "), o.Status)
	}
	p.Sort = o.Sort
	if p.Sort == "" {
		p.Sort = Sorts[0]
	} else if !slices.Contains(Sorts, p.Sort) {
		return p, invalidf("sort must be one of %s, got %q", strings.Join(Sorts, ", "), o.Sort)
	}
	if o.Limit != nil {
		if *o.Limit < 1 || *o.Limit > MaxLimit {
			return p, invalidf("limit must be between 1 and %d, got %d", MaxLimit, *o.Limit)
		}
		p.RowLimit = int32(*o.Limit)
	}
	if q := strings.TrimSpace(o.Query); q != "" {
		if n := utf8.RuneCountInString(q); n > MaxQuery {
			return p, invalidf("query must be at most %d characters, got %d", MaxQuery, n)
		}
		if err := checkText("query", q); err != nil {
			return p, err
		}
		pattern := "%" + escapeLike(q) + "%"
		p.Pattern = &pattern
	}
	if o.Tag != "" {
		tag, err := cleanTag(o.Tag)
		if err != nil {
			return p, err
		}
		p.Tag = &tag
	}
	if o.Priority != "" {
		priority, err := cleanPriority(o.Priority)
		if err != nil {
			return p, err
		}
		p.Priority = &priority
	}
	if o.DueAfter != nil {
		from := o.DueAfter.end()
		p.DueFrom = &from
	}
	if o.DueBefore != nil {
		p.DueUntil = &o.DueBefore.At
	}
	return p, nil
}

// likeEscaper makes a search text match literally under LIKE's default escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func escapeLike(s string) string { return likeEscaper.Replace(s) }

// filterFingerprint hashes everything that decides which tasks a list holds and in which
// order (not the limit, which may change between pages, nor the time).
func filterFingerprint(p db.ListTasksParams) uint64 {
	// A slice of strings, bools, times and pointers to them always marshals.
	b, _ := json.Marshal([]any{p.Sort, p.Completed, p.Pattern, p.Tag, p.Priority, p.Overdue, p.DueFrom, p.DueUntil})
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
