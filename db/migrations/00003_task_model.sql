-- +goose Up
-- The task model people rely on: each user's time zone, recurring tasks, a trash that can be
-- undone, and the columns and indexes that let every list order come straight from an index.
-- Every change only adds: no existing value is rewritten except to fill the new due_date.

-- A user's IANA time zone, in which a date-only due is a whole day and "today" and "overdue"
-- are judged. Users without a row are in UTC.
CREATE TABLE user_settings (
    user_id    text        NOT NULL PRIMARY KEY,
    timezone   text        NOT NULL DEFAULT 'UTC',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- due_date: the date of a date-only due, as given (NULL for a due with a time). due_at then
--   holds the start of that day in the user's zone, so that one index orders whole days and
--   times together; it moves when the user's zone changes.
-- repeat: an RFC 5545 RRULE; repeat_done counts the occurrences completed (or passed over when
--   a late completion jumped to today), which is what COUNT limits.
-- deleted_at: in the trash since then; purged 30 days later.
-- priority_rank: 1 for high … 4 for none, the order list_tasks sorts by priority in.
ALTER TABLE tasks
    ADD COLUMN due_date      date,
    ADD COLUMN repeat        text CHECK (char_length(repeat) <= 200),
    ADD COLUMN repeat_done   integer NOT NULL DEFAULT 0,
    ADD COLUMN deleted_at    timestamptz,
    ADD COLUMN priority_rank smallint NOT NULL GENERATED ALWAYS AS (
        CASE priority WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END) STORED,
    ADD CONSTRAINT tasks_repeat_needs_due CHECK (repeat IS NULL OR due_at IS NOT NULL);

-- Until now a date-only due was stored as midnight UTC of its date, which is also its start in
-- the zone every user has had so far (UTC): only the date needs writing down.
UPDATE tasks SET due_date = (due_at AT TIME ZONE 'UTC')::date
WHERE due_at IS NOT NULL AND NOT due_has_time;

-- One index per list order, each (user_id, order key, task_id), so a page is a range scan
-- that stops after the limit. Sort by created uses the primary key. Tasks without a due date
-- sort last, as if due at infinity.
DROP INDEX tasks_user_due_idx;
CREATE INDEX tasks_user_due_idx ON tasks (user_id, (coalesce(due_at, 'infinity'::timestamptz)), task_id);
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, priority_rank, task_id);
-- The trash: a user's deleted tasks for list_tasks status "deleted" (then sorted: the trash
-- holds 30 days of deletions at most), and every user's expired ones for the purge, without
-- reading live tasks.
CREATE INDEX tasks_trash_idx ON tasks (user_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- +goose Down
-- Nothing: an upgrade never drops user data, and goose is only ever run upwards.
