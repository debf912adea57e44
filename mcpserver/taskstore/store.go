package taskstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/taskwire/taskwire/db"
)

// Store reads and writes one user's tasks at a time. It is safe for concurrent use.
type Store struct {
	q     *db.Queries
	now   func() time.Time
	zones zones
}

// New returns a Store on conn (a pool in production, anything sqlc accepts in tests).
func New(conn db.DBTX) *Store {
	return &Store{q: db.New(conn), now: time.Now}
}

// NewTask is what add_task asks for. Zero values mean "not given".
type NewTask struct {
	Title       string
	Description string
	Due         *Due
	Priority    string
	Tags        []string
	Repeat      string // an RRULE; needs Due
	Timezone    string // an IANA zone to remember for the user before the task is stored
}

// Add stores a new task under the user's next task number.
func (s *Store) Add(ctx context.Context, user string, in NewTask) (Task, error) {
	title, err := cleanTitle(in.Title)
	if err != nil {
		return Task{}, err
	}
	desc, err := cleanDescription(in.Description)
	if err != nil {
		return Task{}, err
	}
	priority := "none"
	if in.Priority != "" {
		if priority, err = cleanPriority(in.Priority); err != nil {
			return Task{}, err
		}
	}
	tags, err := cleanTags(in.Tags)
	if err != nil {
		return Task{}, err
	}
	p := db.InsertTaskParams{UserID: user, Title: title, Description: desc, Priority: db.Priority(priority), Tags: tags}
	if in.Repeat != "" {
		if in.Due == nil {
			return Task{}, errRepeatNeedsDue
		}
		r, err := cleanRepeat(in.Repeat)
		if err != nil {
			return Task{}, err
		}
		p.Repeat = &r
	}
	p.DueDate, p.DueAt = dueParams(in.Due)
	if _, err := s.zoneFor(ctx, user, in.Timezone, false); err != nil {
		return Task{}, err
	}
	row, err := s.q.InsertTask(ctx, p)
	if err != nil {
		return Task{}, fmt.Errorf("insert task for %s: %w", user, err)
	}
	return fromRow(row, nil), nil
}

var errRepeatNeedsDue = invalidf("repeat needs a due date: give due (the first occurrence) together with repeat")

// dueParams splits a due into the query arguments: a date, or an instant.
func dueParams(d *Due) (pgtype.Date, *time.Time) {
	switch {
	case d == nil:
		return pgtype.Date{}, nil
	case d.HasTime:
		return pgtype.Date{}, &d.At
	default:
		return pgtype.Date{Time: d.At, Valid: true}, nil
	}
}

// SetCompleted marks a task completed or, with false, pending again; repeating either changes
// nothing. Completing a repeating task completes one occurrence instead: the task stays open
// and moves to its next due date (see nextOccurrence), unless its rule has none left.
func (s *Store) SetCompleted(ctx context.Context, user string, taskID int64, completed bool) (Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return Task{}, err
	}
	if completed {
		// Most tasks do not repeat: one statement completes them. An open repeating task
		// gives no row (nor does a missing one), and is advanced below.
		row, err := s.q.SetTaskCompleted(ctx, db.SetTaskCompletedParams{UserID: user, TaskID: taskID, Completed: true, SkipOpenRepeating: true})
		if !db.IsNotFound(err) {
			return s.one(row, err, user, taskID, "complete")
		}
		// A concurrent change of the same task makes the advance find no row: read it again.
	retry:
		for attempt := 1; ; attempt++ {
			t, step, err := s.completeOccurrence(ctx, user, taskID)
			switch {
			case step == answered:
				return t, err
			case step == notRepeating:
				break retry
			case attempt == 3:
				return Task{}, fmt.Errorf("complete task %d of %s: it kept changing meanwhile", taskID, user)
			}
		}
	}
	row, err := s.q.SetTaskCompleted(ctx, db.SetTaskCompletedParams{UserID: user, TaskID: taskID, Completed: completed})
	return s.one(row, err, user, taskID, "complete")
}

// occurrenceStep is how completeOccurrence went.
type occurrenceStep int

const (
	answered     occurrenceStep = iota // the task advanced, or an error: return it
	notRepeating                       // complete it like any task (no rule, no occurrence left)
	raced                              // changed meanwhile: try again
)

// completeOccurrence advances an open repeating task to its next occurrence.
func (s *Store) completeOccurrence(ctx context.Context, user string, taskID int64) (Task, occurrenceStep, error) {
	row, err := s.q.GetTask(ctx, db.GetTaskParams{UserID: user, TaskID: taskID})
	if err != nil {
		t, err := s.one(row, err, user, taskID, "complete")
		return t, answered, err
	}
	cur := fromRow(row, nil)
	if cur.Repeat == nil || cur.Completed || cur.Due == nil {
		return Task{}, notRepeating, nil
	}
	loc, err := s.zoneFor(ctx, user, "", true)
	if err != nil {
		return Task{}, answered, err
	}
	adv, ok, err := nextOccurrence(*cur.Repeat, *cur.Due, int(row.RepeatDone), s.now(), loc)
	if err != nil {
		return Task{}, answered, err
	}
	if !ok {
		return Task{}, notRepeating, nil
	}
	p := db.AdvanceRepeatingTaskParams{UserID: user, TaskID: taskID, Occurrences: int32(adv.consumed), PrevDueAt: row.DueAt}
	p.DueDate, p.DueAt = dueParams(&adv.next)
	row, err = s.q.AdvanceRepeatingTask(ctx, p)
	if db.IsNotFound(err) {
		return Task{}, raced, nil
	}
	t, err := s.one(row, err, user, taskID, "complete")
	return t, answered, err
}

// Changes is a partial update: nil fields keep their values. An empty Description, priority
// "none" and empty Tags clear those fields; SetDue with a nil Due clears the due date, and
// SetRepeat with a nil Repeat the recurrence.
type Changes struct {
	Title       *string
	Description *string
	Priority    *string
	Tags        *[]string
	SetDue      bool
	Due         *Due
	SetRepeat   bool
	Repeat      *string
	Timezone    string // an IANA zone to remember for the user before the change
}

func (c Changes) empty() bool {
	return c.Title == nil && c.Description == nil && c.Priority == nil && c.Tags == nil && !c.SetDue && !c.SetRepeat
}

// Update applies changes to a task and returns the result.
func (s *Store) Update(ctx context.Context, user string, taskID int64, c Changes) (Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return Task{}, err
	}
	if c.empty() {
		return Task{}, invalidf("nothing to change: give at least one of title, description, due, priority, tags, repeat")
	}
	p := db.UpdateTaskParams{UserID: user, TaskID: taskID, SetDue: c.SetDue, SetRepeat: c.SetRepeat}
	var err error
	if p.Title, err = cleanIfSet(c.Title, cleanTitle); err != nil {
		return Task{}, err
	}
	if p.Description, err = cleanIfSet(c.Description, cleanDescription); err != nil {
		return Task{}, err
	}
	if p.Priority, err = cleanIfSet(c.Priority, cleanPriority); err != nil {
		return Task{}, err
	}
	if p.Repeat, err = cleanIfSet(c.Repeat, cleanRepeat); err != nil {
		return Task{}, err
	}
	if c.Tags != nil {
		tags, err := cleanTags(*c.Tags)
		if err != nil {
			return Task{}, err
		}
		p.Tags = tags
	}
	if c.SetDue {
		p.DueDate, p.DueAt = dueParams(c.Due)
	}
	if _, err := s.zoneFor(ctx, user, c.Timezone, false); err != nil {
		return Task{}, err
	}
	row, err := s.q.UpdateTask(ctx, p)
	if isRepeatWithoutDue(err) {
		return Task{}, invalidf("a repeating task needs a due date: give due together with repeat, or clear repeat (null) to remove the due date")
	}
	return s.one(row, err, user, taskID, "update")
}

// isRepeatWithoutDue reports whether err is the database refusing a repeat without a due,
// which an update can only find out against the stored task.
func isRepeatWithoutDue(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.ConstraintName == "tasks_repeat_needs_due"
}

// cleanIfSet applies clean to a field that a partial update sets, and passes nil on.
func cleanIfSet(v *string, clean func(string) (string, error)) (*string, error) {
	if v == nil {
		return nil, nil
	}
	out, err := clean(*v)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// one turns the result of a single-task query into a Task or the right error.
func (s *Store) one(row db.Task, err error, user string, taskID int64, verb string) (Task, error) {
	if err != nil {
		if db.IsNotFound(err) {
			return Task{}, notFound(taskID)
		}
		return Task{}, fmt.Errorf("%s task %d of %s: %w", verb, taskID, user, err)
	}
	return fromRow(row, nil), nil
}

// fromRow turns a stored row into the task clients see. A due date is kept in *due when due
// is not nil, so a page can give all its tasks' due dates one allocation.
func fromRow(r db.Task, due *Due) Task {
	t := Task{
		TaskID:      r.TaskID,
		Title:       r.Title,
		Description: r.Description,
		Completed:   r.Completed,
		Priority:    string(r.Priority),
		Tags:        r.Tags,
		CreatedAt:   r.CreatedAt.UTC(),
		UpdatedAt:   r.UpdatedAt.UTC(),
		Repeat:      r.Repeat,
	}
	// The row's own times are ours to keep: they are put in UTC in place, not copied.
	if r.CompletedAt != nil {
		*r.CompletedAt = r.CompletedAt.UTC()
		t.CompletedAt = r.CompletedAt
	}
	if instant, day := r.DueAt != nil && r.DueHasTime, r.DueDate.Valid; instant || day {
		if due == nil {
			due = new(Due)
		}
		if instant {
			*due = Due{At: r.DueAt.UTC(), HasTime: true}
		} else {
			*due = Due{At: r.DueDate.Time.UTC()}
		}
		t.Due = due
	}
	if r.DeletedAt != nil {
		*r.DeletedAt = r.DeletedAt.UTC()
		t.DeletedAt = r.DeletedAt
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	return t
}
