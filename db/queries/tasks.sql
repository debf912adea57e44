-- Tasks (mcpserver). Every statement on a user's tasks names the user, and every one but
-- the trash's own leaves trashed tasks (deleted_at set) alone, so a deleted task is invisible
-- to every tool until it is restored.
--
-- A date-only due is stored as its date (due_date) plus due_at = the start of that day in the
-- user's time zone (user_settings, UTC without a row), computed here so that the zone in
-- force when the row is written is the one used; SetUserTimezone moves these instants when
-- the zone changes.

-- name: InsertTask :one
-- Takes the user's next task number and stores the task in one statement, so two concurrent
-- adds for the same user serialize on the counter row and never share a number.
WITH next AS (
    INSERT INTO task_counters AS c (user_id, last_task_id)
    VALUES (sqlc.arg(user_id), 1)
    ON CONFLICT (user_id) DO UPDATE SET last_task_id = c.last_task_id + 1
    RETURNING c.last_task_id
)
INSERT INTO tasks (user_id, task_id, title, description, due_at, due_has_time, due_date, repeat, priority, tags)
SELECT sqlc.arg(user_id), next.last_task_id, sqlc.arg(title), sqlc.arg(description),
       coalesce(sqlc.narg(due_date)::date::timestamp AT TIME ZONE
                    coalesce((SELECT s.timezone FROM user_settings s WHERE s.user_id = sqlc.arg(user_id)), 'UTC'),
                sqlc.narg(due_at)::timestamptz),
       sqlc.narg(due_at)::timestamptz IS NOT NULL, sqlc.narg(due_date), sqlc.narg(repeat),
       sqlc.arg(priority), sqlc.arg(tags)::text[]
FROM next
RETURNING *;

-- name: GetTask :one
SELECT * FROM tasks WHERE user_id = $1 AND task_id = $2 AND deleted_at IS NULL;

-- name: SetTaskCompleted :one
-- Setting the state a task already has changes nothing (not even updated_at or completed_at),
-- which is what makes complete_task idempotent on a task that does not repeat. With
-- skip_open_repeating, an open repeating task is left alone (no row, as for a missing one):
-- completing it advances it to its next occurrence instead, which the store works out.
UPDATE tasks
SET completed    = sqlc.arg(completed),
    completed_at = CASE WHEN completed = sqlc.arg(completed) THEN completed_at
                        WHEN sqlc.arg(completed) THEN now() END,
    updated_at   = CASE WHEN completed = sqlc.arg(completed) THEN updated_at ELSE now() END
WHERE user_id = sqlc.arg(user_id) AND task_id = sqlc.arg(task_id) AND deleted_at IS NULL
  AND (NOT sqlc.arg(skip_open_repeating)::boolean OR repeat IS NULL OR completed)
RETURNING *;

-- name: AdvanceRepeatingTask :one
-- Completes one occurrence of a repeating task: the task stays open with its next due, and
-- completed_at records this completion. It only applies while the task is still due at
-- prev_due_at, so two concurrent completions cannot both advance it from the same due.
UPDATE tasks
SET due_at       = coalesce(sqlc.narg(due_date)::date::timestamp AT TIME ZONE
                                coalesce((SELECT s.timezone FROM user_settings s WHERE s.user_id = sqlc.arg(user_id)), 'UTC'),
                            sqlc.narg(due_at)::timestamptz),
    due_date     = sqlc.narg(due_date),
    repeat_done  = repeat_done + sqlc.arg(occurrences)::integer,
    completed_at = now(),
    updated_at   = now()
WHERE user_id = sqlc.arg(user_id) AND task_id = sqlc.arg(task_id) AND deleted_at IS NULL
  AND NOT completed AND repeat IS NOT NULL AND due_at = sqlc.arg(prev_due_at)
RETURNING *;

-- name: UpdateTask :one
-- A partial update: a NULL argument keeps the stored value. Clearing a field is done with its
-- empty value (an empty description, priority none, no tags), except due and repeat, whose
-- empty value is NULL itself and so travel with their own set_ flags. A new rule starts its
-- count of done occurrences again. Every statement here addresses a task by (user_id,
-- task_id): another user's task number simply finds no row.
UPDATE tasks
SET title        = coalesce(sqlc.narg(title), title),
    description  = coalesce(sqlc.narg(description), description),
    priority     = coalesce(sqlc.narg(priority)::text, priority),
    tags         = coalesce(sqlc.narg(tags)::text[], tags),
    due_at       = CASE WHEN sqlc.arg(set_due)::boolean THEN
                       coalesce(sqlc.narg(due_date)::date::timestamp AT TIME ZONE
                                    coalesce((SELECT s.timezone FROM user_settings s WHERE s.user_id = sqlc.arg(user_id)), 'UTC'),
                                sqlc.narg(due_at)::timestamptz)
                   ELSE due_at END,
    due_has_time = CASE WHEN sqlc.arg(set_due)::boolean THEN sqlc.narg(due_at)::timestamptz IS NOT NULL ELSE due_has_time END,
    due_date     = CASE WHEN sqlc.arg(set_due)::boolean THEN sqlc.narg(due_date) ELSE due_date END,
    repeat       = CASE WHEN sqlc.arg(set_repeat)::boolean THEN sqlc.narg(repeat) ELSE repeat END,
    repeat_done  = CASE WHEN sqlc.arg(set_repeat)::boolean THEN 0 ELSE repeat_done END,
    updated_at   = now()
WHERE user_id = sqlc.arg(user_id) AND task_id = sqlc.arg(task_id) AND deleted_at IS NULL
RETURNING *;

-- name: TrashTask :one
-- delete_task: the task keeps its number and fields, and leaves every list but the trash.
UPDATE tasks SET deleted_at = now()
WHERE user_id = $1 AND task_id = $2 AND deleted_at IS NULL
RETURNING task_id, title, deleted_at;

-- name: RestoreTask :one
-- Brings a task back from the trash, if it went there after cutoff (30 days ago).
UPDATE tasks SET deleted_at = NULL
WHERE user_id = sqlc.arg(user_id) AND task_id = sqlc.arg(task_id) AND deleted_at > sqlc.arg(cutoff)
RETURNING *;

-- name: PurgeTrash :execrows
-- Erases up to batch_size tasks trashed before cutoff, of every user: the one statement that
-- is not about one user, run by the server's own purge rather than by a tool call.
DELETE FROM tasks
WHERE (user_id, task_id) IN (
    SELECT t.user_id, t.task_id FROM tasks t
    WHERE t.deleted_at < sqlc.arg(cutoff)
    LIMIT sqlc.arg(batch_size)
);

-- name: GetUserTimezone :one
SELECT timezone FROM user_settings WHERE user_id = $1;

-- name: SetUserTimezone :execrows
-- Remembers the user's zone and, when it differs from the one in force (UTC without a row),
-- moves every date-only due to the start of its day in the new zone, in the same statement.
-- An unchanged zone writes nothing. The zone is also tried on PostgreSQL's own copy of the
-- zone rules (error 22023 if it lacks it), so that no name is stored that it cannot apply.
WITH previous AS (
    SELECT coalesce((SELECT s.timezone FROM user_settings s WHERE s.user_id = sqlc.arg(user_id)), 'UTC') AS timezone
), saved AS (
    INSERT INTO user_settings AS s (user_id, timezone)
    SELECT sqlc.arg(user_id), sqlc.arg(timezone)
    WHERE (now() AT TIME ZONE sqlc.arg(timezone)::text) IS NOT NULL
    ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, updated_at = now()
    WHERE s.timezone <> excluded.timezone
)
UPDATE tasks
SET due_at = tasks.due_date::timestamp AT TIME ZONE sqlc.arg(timezone)::text
FROM previous
WHERE tasks.user_id = sqlc.arg(user_id) AND tasks.due_date IS NOT NULL
  AND previous.timezone <> sqlc.arg(timezone)::text;

-- The three list queries differ only in their order, each an index's (user_id, key, task_id)
-- order, and page with a keyset on (key, task_id): the caller passes the last row's key (or,
-- for the first page, a key below every row), so the index range starts right there and the
-- scan stops after row_limit rows whatever the filters. A NULL filter argument means "no
-- filter". trash lists the trash (tasks deleted after trash_cutoff) instead of the live tasks.
-- Overdue: a due time that has passed, or a whole day before today_start (the start of today
-- in the user's zone).

-- name: ListTasksByCreated :many
SELECT * FROM tasks
WHERE user_id = sqlc.arg(user_id)
  AND CASE WHEN sqlc.arg(trash)::boolean THEN deleted_at > sqlc.arg(trash_cutoff)::timestamptz ELSE deleted_at IS NULL END
  AND (sqlc.narg(completed)::boolean IS NULL OR completed = sqlc.narg(completed))
  AND (sqlc.narg(pattern)::text IS NULL OR title ILIKE sqlc.narg(pattern) OR description ILIKE sqlc.narg(pattern))
  AND (sqlc.narg(tag)::text IS NULL OR tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(priority)::text IS NULL OR priority = sqlc.narg(priority))
  AND (sqlc.narg(due_from)::timestamptz IS NULL OR due_at >= sqlc.narg(due_from))
  AND (sqlc.narg(due_until)::timestamptz IS NULL OR due_at < sqlc.narg(due_until))
  AND (sqlc.narg(overdue)::boolean IS NULL OR sqlc.narg(overdue) = (
        NOT completed AND due_at IS NOT NULL AND
        CASE WHEN due_has_time THEN due_at <= sqlc.arg(now)::timestamptz
             ELSE due_at < sqlc.arg(today_start)::timestamptz END))
  AND task_id > sqlc.arg(after_task_id)
ORDER BY task_id
LIMIT sqlc.arg(row_limit);

-- name: ListTasksByDue :many
-- after_key is the last row's coalesce(due_at, 'infinity') as text ('-infinity' for the
-- first page).
SELECT * FROM tasks
WHERE user_id = sqlc.arg(user_id)
  AND CASE WHEN sqlc.arg(trash)::boolean THEN deleted_at > sqlc.arg(trash_cutoff)::timestamptz ELSE deleted_at IS NULL END
  AND (sqlc.narg(completed)::boolean IS NULL OR completed = sqlc.narg(completed))
  AND (sqlc.narg(pattern)::text IS NULL OR title ILIKE sqlc.narg(pattern) OR description ILIKE sqlc.narg(pattern))
  AND (sqlc.narg(tag)::text IS NULL OR tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(priority)::text IS NULL OR priority = sqlc.narg(priority))
  AND (sqlc.narg(due_from)::timestamptz IS NULL OR due_at >= sqlc.narg(due_from))
  AND (sqlc.narg(due_until)::timestamptz IS NULL OR due_at < sqlc.narg(due_until))
  AND (sqlc.narg(overdue)::boolean IS NULL OR sqlc.narg(overdue) = (
        NOT completed AND due_at IS NOT NULL AND
        CASE WHEN due_has_time THEN due_at <= sqlc.arg(now)::timestamptz
             ELSE due_at < sqlc.arg(today_start)::timestamptz END))
  AND (coalesce(due_at, 'infinity'::timestamptz), task_id) > (sqlc.arg(after_key)::text::timestamptz, sqlc.arg(after_task_id)::bigint)
ORDER BY coalesce(due_at, 'infinity'::timestamptz), task_id
LIMIT sqlc.arg(row_limit);

-- name: ListTasksByPriority :many
-- after_key is the last row's priority_rank as text ('0' for the first page).
SELECT * FROM tasks
WHERE user_id = sqlc.arg(user_id)
  AND CASE WHEN sqlc.arg(trash)::boolean THEN deleted_at > sqlc.arg(trash_cutoff)::timestamptz ELSE deleted_at IS NULL END
  AND (sqlc.narg(completed)::boolean IS NULL OR completed = sqlc.narg(completed))
  AND (sqlc.narg(pattern)::text IS NULL OR title ILIKE sqlc.narg(pattern) OR description ILIKE sqlc.narg(pattern))
  AND (sqlc.narg(tag)::text IS NULL OR tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(priority)::text IS NULL OR priority = sqlc.narg(priority))
  AND (sqlc.narg(due_from)::timestamptz IS NULL OR due_at >= sqlc.narg(due_from))
  AND (sqlc.narg(due_until)::timestamptz IS NULL OR due_at < sqlc.narg(due_until))
  AND (sqlc.narg(overdue)::boolean IS NULL OR sqlc.narg(overdue) = (
        NOT completed AND due_at IS NOT NULL AND
        CASE WHEN due_has_time THEN due_at <= sqlc.arg(now)::timestamptz
             ELSE due_at < sqlc.arg(today_start)::timestamptz END))
  AND (priority_rank, task_id) > (sqlc.arg(after_key)::text::smallint, sqlc.arg(after_task_id)::bigint)
ORDER BY priority_rank, task_id
LIMIT sqlc.arg(row_limit);
