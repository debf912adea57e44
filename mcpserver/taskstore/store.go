package taskstore

import (
	"context"
	"fmt"
	"time"

	"github.com/taskwire/taskwire/db"
)

// Store reads and writes one user's tasks at a time. It is safe for concurrent use.
type Store struct {
	q   *db.Queries
	now func() time.Time
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
	p := db.InsertTaskParams{UserID: user, Title: title, Description: desc, Priority: priority, Tags: tags}
	if in.Due != nil {
		p.DueAt, p.DueHasTime = &in.Due.At, in.Due.HasTime
	}
	row, err := s.q.InsertTask(ctx, p)
	if err != nil {
		return Task{}, fmt.Errorf("insert task for %s: %w", user, err)
	}
	return fromRow(row), nil
}

// SetCompleted marks a task completed or, with false, pending again. Repeating it changes
// nothing.
func (s *Store) SetCompleted(ctx context.Context, user string, taskID int64, completed bool) (Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return Task{}, err
	}
	row, err := s.q.SetTaskCompleted(ctx, db.SetTaskCompletedParams{UserID: user, TaskID: taskID, Completed: completed})
	return s.one(row, err, user, taskID, "complete")
}

// Deleted is what delete_task reports.
type Deleted struct {
	TaskID  int64  `json:"task_id"`
	Title   string `json:"title"`
	Deleted bool   `json:"deleted"`
}

// Delete removes a task for good; its number is never given out again.
func (s *Store) Delete(ctx context.Context, user string, taskID int64) (Deleted, error) {
	if err := checkTaskID(taskID); err != nil {
		return Deleted{}, err
	}
	row, err := s.q.DeleteTask(ctx, db.DeleteTaskParams{UserID: user, TaskID: taskID})
	if err != nil {
		if db.IsNotFound(err) {
			return Deleted{}, notFound(taskID)
		}
		return Deleted{}, fmt.Errorf("delete task %d of %s: %w", taskID, user, err)
	}
	return Deleted{TaskID: row.TaskID, Title: row.Title, Deleted: true}, nil
}

// Changes is a partial update: nil fields keep their values. An empty Description, priority
// "none" and empty Tags clear those fields; SetDue with a nil Due clears the due date.
type Changes struct {
	Title       *string
	Description *string
	Priority    *string
	Tags        *[]string
	SetDue      bool
	Due         *Due
}

func (c Changes) empty() bool {
	return c.Title == nil && c.Description == nil && c.Priority == nil && c.Tags == nil && !c.SetDue
}

// Update applies changes to a task and returns the result.
func (s *Store) Update(ctx context.Context, user string, taskID int64, c Changes) (Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return Task{}, err
	}
	if c.empty() {
		return Task{}, invalidf("nothing to change: give at least one of title, description, due, priority, tags")
	}
	p := db.UpdateTaskParams{UserID: user, TaskID: taskID, SetDue: c.SetDue}
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
	if c.Tags != nil {
		tags, err := cleanTags(*c.Tags)
		if err != nil {
			return Task{}, err
		}
		p.Tags = tags
	}
	if c.SetDue && c.Due != nil {
		p.DueAt, p.DueHasTime = &c.Due.At, c.Due.HasTime
	}
	row, err := s.q.UpdateTask(ctx, p)
	return s.one(row, err, user, taskID, "update")
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
	return fromRow(row), nil
}

func fromRow(r db.Task) Task {
	t := Task{
		TaskID:      r.TaskID,
		Title:       r.Title,
		Description: r.Description,
		Completed:   r.Completed,
		Priority:    r.Priority,
		Tags:        r.Tags,
		CreatedAt:   r.CreatedAt.UTC(),
		UpdatedAt:   r.UpdatedAt.UTC(),
	}
	if r.CompletedAt != nil {
		at := r.CompletedAt.UTC()
		t.CompletedAt = &at
	}
	if r.DueAt != nil {
		t.Due = &Due{At: r.DueAt.UTC(), HasTime: r.DueHasTime}
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	return t
}
