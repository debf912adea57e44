package taskstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskwire/taskwire/db"
)

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Statuses and sort orders list_tasks accepts; the first of each is the default. "deleted"
// lists the trash.
var (
	Statuses = []string{"all", "pending", "completed", "deleted"}
	Sorts    = []string{"created", "due", "priority"}
)

// ListOptions filter, order and page a task list. Zero values mean "not given".
type ListOptions struct {
	Status    string // all | pending | completed | deleted
	Query     string // case-insensitive substring of title or description
	Tag       string
	Priority  string
	DueBefore *Due  // due strictly before (a date: before that day)
	DueAfter  *Due  // due strictly after (a date: after that day)
	Overdue   *bool // true: only pending tasks past due; false: only the others
	Sort      string
	Limit     *int
	Cursor    string
	Timezone  string // an IANA zone to remember for the user and judge dates in
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
	Key    string `json:"k,omitempty"`
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
	if err != nil || json.Unmarshal(b, &c) != nil || c.TaskID < 1 || !validKey(c.Sort, c.Key) {
		return cursor{}, errBadCursor
	}
	return c, nil
}

// Each sort's key, as the query takes it in after_key, and the key below every row that
// starts the first page.
const (
	noDueKey         = "infinity" // tasks without a due date sort last
	firstDueKey      = "-infinity"
	firstRankKey     = "0"
	dueKeyLayout     = time.RFC3339Nano
	minRank, maxRank = 1, 4 // priority_rank: high … none
)

func sortKey(sort string, r db.Task) string {
	switch sort {
	case "due":
		if r.DueAt == nil {
			return noDueKey
		}
		return dueKey(*r.DueAt)
	case "priority":
		return strconv.Itoa(int(r.PriorityRank))
	}
	return ""
}

// dueKey writes a due instant the way PostgreSQL reads it back exactly. The start of
// 0001-01-01 east of UTC is in the year before 1, which PostgreSQL writes as 1 BC.
func dueKey(t time.Time) string {
	t = t.UTC()
	if t.Year() >= 1 {
		return t.Format(dueKeyLayout)
	}
	return fmt.Sprintf("%04d%s BC", 1-t.Year(), t.Format(dueKeyLayout)[4:])
}

// validKey keeps a forged cursor from reaching the database as a value it cannot read.
func validKey(sort, key string) bool {
	switch sort {
	case "due":
		_, err := time.Parse(dueKeyLayout, strings.TrimSuffix(key, " BC"))
		return key == noDueKey || err == nil
	case "priority":
		n, err := strconv.Atoi(key)
		return err == nil && n >= minRank && n <= maxRank
	}
	return key == ""
}

// List returns one page of the user's tasks. Pages follow a keyset on (sort key, task
// number), so tasks added or changed while someone pages never make a task appear twice.
func (s *Store) List(ctx context.Context, user string, o ListOptions) (Page, error) {
	p, sort, err := s.listParams(user, o)
	if err != nil {
		return Page{}, err
	}
	var after *cursor
	if o.Cursor != "" {
		c, err := decodeCursor(o.Cursor)
		if err != nil {
			return Page{}, err
		}
		after = &c
	}
	// Whole days and "today" are the user's: only lists that judge dates read the zone.
	needZone := o.Overdue != nil || (o.DueBefore != nil && !o.DueBefore.HasTime) || (o.DueAfter != nil && !o.DueAfter.HasTime)
	loc, err := s.zoneFor(ctx, user, o.Timezone, needZone)
	if err != nil {
		return Page{}, err
	}
	setDateBounds(&p, o, loc)
	fingerprint := filterFingerprint(sort, p)
	if after != nil {
		if after.Sort != sort || after.Filter != fingerprint {
			return Page{}, errBadCursor
		}
		p.AfterKey, p.AfterTaskID = after.Key, after.TaskID
	}
	limit := int(p.RowLimit)
	p.RowLimit++ // one more row tells whether another page exists
	rows, err := s.listRows(ctx, sort, p)
	if err != nil {
		return Page{}, fmt.Errorf("list tasks of %s: %w", user, err)
	}
	n := min(len(rows), limit)
	page := Page{Tasks: make([]Task, n)}
	dues := make([]Due, n) // the page's due dates, in one allocation instead of one each
	for i := range n {
		page.Tasks[i] = fromRow(rows[i], &dues[i])
	}
	if len(rows) > limit {
		last := rows[limit-1]
		page.NextCursor = cursor{Sort: sort, Key: sortKey(sort, last), TaskID: last.TaskID, Filter: fingerprint}.encode()
	}
	return page, nil
}

// listRows runs the query of the sort: each is ordered by its own index.
func (s *Store) listRows(ctx context.Context, sort string, p db.ListTasksByDueParams) ([]db.Task, error) {
	switch sort {
	case "due":
		return s.q.ListTasksByDue(ctx, p)
	case "priority":
		return s.q.ListTasksByPriority(ctx, db.ListTasksByPriorityParams(p))
	}
	return s.q.ListTasksByCreated(ctx, db.ListTasksByCreatedParams{
		UserID: p.UserID, Trash: p.Trash, TrashCutoff: p.TrashCutoff, Completed: p.Completed, Pattern: p.Pattern,
		Tag: p.Tag, Priority: p.Priority, DueFrom: p.DueFrom, DueUntil: p.DueUntil, Overdue: p.Overdue,
		Now: p.Now, TodayStart: p.TodayStart, AfterTaskID: p.AfterTaskID, RowLimit: p.RowLimit,
	})
}

// listParams validates the options and turns them into query arguments, all but the date
// bounds (setDateBounds), which may need the user's zone. The arguments start at the first
// page.
func (s *Store) listParams(user string, o ListOptions) (db.ListTasksByDueParams, string, error) {
	now := s.now()
	p := db.ListTasksByDueParams{UserID: user, Now: now, TodayStart: now, Overdue: o.Overdue, RowLimit: DefaultLimit}
	switch o.Status {
	case "", "all":
	case "pending", "completed":
		done := o.Status == "completed"
		p.Completed = &done
	case "deleted":
		p.Trash, p.TrashCutoff = true, now.Add(-trashTTL)
	default:
		return p, "", invalidf("status must be one of %s, got %q", strings.Join(Statuses, ", "), o.Status)
	}
	sort := o.Sort
	switch sort {
	case "", "created":
		sort = "created"
	case "due":
		p.AfterKey = firstDueKey
	case "priority":
		p.AfterKey = firstRankKey
	default:
		return p, "", invalidf("sort must be one of %s, got %q", strings.Join(Sorts, ", "), o.Sort)
	}
	if o.Limit != nil {
		if *o.Limit < 1 || *o.Limit > MaxLimit {
			return p, "", invalidf("limit must be between 1 and %d, got %d", MaxLimit, *o.Limit)
		}
		p.RowLimit = int32(*o.Limit)
	}
	if q := strings.TrimSpace(o.Query); q != "" {
		if n := utf8.RuneCountInString(q); n > MaxQuery {
			return p, "", invalidf("query must be at most %d characters, got %d", MaxQuery, n)
		}
		if err := checkText("query", q); err != nil {
			return p, "", err
		}
		pattern := "%" + escapeLike(q) + "%"
		p.Pattern = &pattern
	}
	if o.Tag != "" {
		tag, err := cleanTag(o.Tag)
		if err != nil {
			return p, "", err
		}
		p.Tag = &tag
	}
	if o.Priority != "" {
		priority, err := cleanPriority(o.Priority)
		if err != nil {
			return p, "", err
		}
		p.Priority = &priority
	}
	return p, sort, nil
}

// setDateBounds turns due_after, due_before and "today" into instants. A date is a whole day
// in loc (the user's zone; nil when no option needs one): after it means from the start of
// the next day, before it means before its start.
func setDateBounds(p *db.ListTasksByDueParams, o ListOptions, loc *time.Location) {
	if loc != nil {
		p.TodayStart = dayStart(localDate(p.Now, loc), loc)
	}
	if d := o.DueAfter; d != nil {
		from := d.At.Add(time.Microsecond)
		if !d.HasTime {
			from = dayStart(d.At.AddDate(0, 0, 1), loc)
		}
		p.DueFrom = &from
	}
	if d := o.DueBefore; d != nil {
		until := d.At
		if !d.HasTime {
			until = dayStart(d.At, loc)
		}
		p.DueUntil = &until
	}
}

// likeEscaper makes a search text match literally under LIKE's default escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func escapeLike(s string) string { return likeEscaper.Replace(s) }

// filterFingerprint hashes everything that decides which tasks a list holds and in which
// order (not the limit, which may change between pages, nor the time).
func filterFingerprint(sort string, p db.ListTasksByDueParams) uint64 {
	// A slice of strings, bools, times and pointers to them always marshals.
	b, _ := json.Marshal([]any{sort, p.Trash, p.Completed, p.Pattern, p.Tag, p.Priority, p.Overdue, p.DueFrom, p.DueUntil})
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
