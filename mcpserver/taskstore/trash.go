package taskstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/taskwire/taskwire/db"
)

// TrashDays is how long a deleted task can be restored; after that the purge erases it.
const TrashDays = 30

const trashTTL = TrashDays * 24 * time.Hour

// Deleted is what delete_task reports.
type Deleted struct {
	TaskID          int64     `json:"task_id"`
	Title           string    `json:"title"`
	Deleted         bool      `json:"deleted"`
	RestorableUntil time.Time `json:"restorable_until"`
}

// Delete moves a task to the trash: it leaves every list and tool but list_tasks with status
// "deleted" and restore_task, keeps its number and fields, and is erased after TrashDays.
func (s *Store) Delete(ctx context.Context, user string, taskID int64) (Deleted, error) {
	if err := checkTaskID(taskID); err != nil {
		return Deleted{}, err
	}
	row, err := s.q.TrashTask(ctx, db.TrashTaskParams{UserID: user, TaskID: taskID})
	if err != nil {
		if db.IsNotFound(err) {
			return Deleted{}, notFound(taskID)
		}
		return Deleted{}, fmt.Errorf("delete task %d of %s: %w", taskID, user, err)
	}
	return Deleted{TaskID: row.TaskID, Title: row.Title, Deleted: true, RestorableUntil: row.DeletedAt.UTC().Add(trashTTL)}, nil
}

// Restore brings a task back from the trash as it was. A task that is not in the trash —
// never deleted, purged, missing, or another user's — gets one and the same answer.
func (s *Store) Restore(ctx context.Context, user string, taskID int64) (Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return Task{}, err
	}
	cutoff := s.now().Add(-trashTTL)
	row, err := s.q.RestoreTask(ctx, db.RestoreTaskParams{UserID: user, TaskID: taskID, Cutoff: &cutoff})
	if err != nil {
		if db.IsNotFound(err) {
			return Task{}, &Error{Kind: NotFound, Msg: fmt.Sprintf(
				"task %d is not in the trash: only tasks deleted in the last %d days can be restored; list_tasks with status \"deleted\" shows them", taskID, TrashDays)}
		}
		return Task{}, fmt.Errorf("restore task %d of %s: %w", taskID, user, err)
	}
	return fromRow(row, nil), nil
}

// purgeBatch bounds one DELETE, so a purge never holds many row locks at once.
const purgeBatch = 1000

// PurgeTrash erases every task that has been in the trash longer than TrashDays, in batches,
// and returns how many it erased. Their numbers stay taken.
func (s *Store) PurgeTrash(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-trashTTL)
	var total int64
	for {
		n, err := s.q.PurgeTrash(ctx, db.PurgeTrashParams{Cutoff: &cutoff, BatchSize: purgeBatch})
		total += n
		if err != nil {
			return total, fmt.Errorf("purge trash: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// RunPurger calls PurgeTrash now and then every interval until ctx ends. Several replicas may
// each run one: a task is only ever deleted once, whoever gets there first. Failures are
// logged and retried at the next tick.
func (s *Store) RunPurger(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		n, err := s.PurgeTrash(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.WarnContext(ctx, "purge trash", "error", err)
		case n > 0:
			logger.InfoContext(ctx, "purged trash", "tasks", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
