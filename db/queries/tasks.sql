-- name: InsertTask :one
-- Takes the user's next task number and stores the task in one statement, so two concurrent
-- adds for the same user serialize on the counter row and never share a number.
WITH next AS (
    INSERT INTO task_counters AS c (user_id, last_task_id)
    VALUES (sqlc.arg(user_id), 1)
    ON CONFLICT (user_id) DO UPDATE SET last_task_id = c.last_task_id + 1
    RETURNING c.last_task_id
)
INSERT INTO tasks (user_id, task_id, title, description, due_at, due_has_time, priority, tags)
SELECT sqlc.arg(user_id), next.last_task_id, sqlc.arg(title), sqlc.arg(description),
       sqlc.narg(due_at), sqlc.arg(due_has_time), sqlc.arg(priority), sqlc.arg(tags)::text[]
FROM next
RETURNING *;

-- name: GetTask :one
SELECT * FROM tasks WHERE user_id = $1 AND task_id = $2;

-- name: SetTaskCompleted :one
-- Completing a completed task changes nothing (not even updated_at or completed_at), which is
-- what makes complete_task idempotent.
UPDATE tasks
SET completed    = sqlc.arg(completed),
    completed_at = CASE WHEN sqlc.arg(completed) THEN coalesce(completed_at, now()) END,
    updated_at   = CASE WHEN completed = sqlc.arg(completed) THEN updated_at ELSE now() END
WHERE user_id = sqlc.arg(user_id) AND task_id = sqlc.arg(task_id)
RETURNING *;

-- name: UpdateTask :one
-- A partial update: a NULL argument keeps the stored value. Clearing a field is done with its
-- empty value (an empty description, priority none, no tags), except due, whose empty value
-- is NULL itself and so travels with its own set_due flag. Every statement here addresses a
-- task by (user_id, task_id): another user's task number simply finds no row.
UPDATE tasks
SET title        = coalesce(sqlc.narg(title), title),
    description  = coalesce(sqlc.narg(description), description),
    priority     = coalesce(sqlc.narg(priority), priority),
    tags         = coalesce(sqlc.narg(tags)::text[], tags),
    due_at       = CASE WHEN sqlc.arg(set_due)::boolean THEN sqlc.narg(due_at) ELSE due_at END,
    due_has_time = CASE WHEN sqlc.arg(set_due)::boolean THEN sqlc.arg(due_has_time) ELSE due_has_time END,
    updated_at   = now()
WHERE user_id = sqlc.arg(user_id) AND task_id = sqlc.arg(task_id)
RETURNING *;

-- name: DeleteTask :one
DELETE FROM tasks WHERE user_id = $1 AND task_id = $2 RETURNING task_id, title;

-- name: ListTasks :many
-- One query for every filter and sort. Each sort is a (sort_key, task_id) order, so the
-- keyset cursor (after_key, after_task_id) works the same way for all of them:
--   created  → 0 (task numbers grow with creation)
--   due      → the due instant in microseconds, tasks without a due date last
--   priority → minus the priority rank, high first
-- A NULL filter argument means "no filter".
SELECT sqlc.embed(tasks), k.sort_key::bigint AS sort_key
FROM tasks,
     LATERAL (SELECT CASE sqlc.arg(sort)::text
                 WHEN 'due' THEN coalesce((extract(epoch FROM tasks.due_at) * 1000000)::bigint, 9223372036854775807)
                 WHEN 'priority' THEN CASE tasks.priority WHEN 'high' THEN -3 WHEN 'medium' THEN -2 WHEN 'low' THEN -1 ELSE 0 END
                 ELSE 0
              END AS sort_key) AS k
WHERE tasks.user_id = sqlc.arg(user_id)
  AND (sqlc.narg(completed)::boolean IS NULL OR tasks.completed = sqlc.narg(completed))
  AND (sqlc.narg(pattern)::text IS NULL OR tasks.title ILIKE sqlc.narg(pattern) OR tasks.description ILIKE sqlc.narg(pattern))
  AND (sqlc.narg(tag)::text IS NULL OR tasks.tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(priority)::text IS NULL OR tasks.priority = sqlc.narg(priority))
  AND (sqlc.narg(due_from)::timestamptz IS NULL OR tasks.due_at >= sqlc.narg(due_from))
  AND (sqlc.narg(due_until)::timestamptz IS NULL OR tasks.due_at < sqlc.narg(due_until))
  AND (sqlc.narg(overdue)::boolean IS NULL OR sqlc.narg(overdue) = (
        NOT tasks.completed AND tasks.due_at IS NOT NULL AND
        CASE WHEN tasks.due_has_time THEN tasks.due_at <= sqlc.arg(now)::timestamptz
             ELSE tasks.due_at + interval '1 day' <= sqlc.arg(now)::timestamptz END))
  AND (sqlc.narg(after_task_id)::bigint IS NULL
       OR (k.sort_key, tasks.task_id) > (sqlc.arg(after_key)::bigint, sqlc.narg(after_task_id)))
ORDER BY k.sort_key, tasks.task_id
LIMIT sqlc.arg(row_limit);
