-- +goose Up
-- Tasks belong to the user named by a verified token's subject. The per-user task number
-- (task_id) is what people say in chat ("complete task 3"); it is never reused, so a number
-- that once meant a deleted task can never silently point at a new one.
CREATE TABLE task_counters (
    user_id      text   NOT NULL PRIMARY KEY,
    last_task_id bigint NOT NULL
);

CREATE TABLE tasks (
    user_id      text        NOT NULL,
    task_id      bigint      NOT NULL,
    title        text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description  text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
    completed    boolean     NOT NULL DEFAULT false,
    completed_at timestamptz,
    -- due_at is the instant used for sorting and filtering; a date-only due (due_has_time
    -- false) is stored as midnight UTC of that date and shown back as YYYY-MM-DD.
    due_at       timestamptz,
    due_has_time boolean     NOT NULL DEFAULT false,
    priority     text        NOT NULL DEFAULT 'none' CHECK (priority IN ('none', 'low', 'medium', 'high')),
    tags         text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, task_id)
);

CREATE INDEX tasks_user_due_idx ON tasks (user_id, due_at, task_id);
CREATE INDEX tasks_user_completed_idx ON tasks (user_id, completed, task_id);

-- +goose Down
-- Nothing: an upgrade never drops user data, and goose is only ever run upwards.
