-- The current taskwire schema, read by sqlc. It must equal what the migrations in
-- db/migrations produce (TestSchemaMatchesMigrations checks it): change both together,
-- and never edit a migration that has shipped — add a new one.

-- Tasks belong to the user named by a verified token's subject. The per-user task number
-- (task_id) is what people say in chat ("complete task 3"); it is never reused.
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
    due_at       timestamptz,
    due_has_time boolean     NOT NULL DEFAULT false,
    priority     text        NOT NULL DEFAULT 'none' CHECK (priority IN ('none', 'low', 'medium', 'high')),
    tags         text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- The date of a date-only due as given; due_at is then the start of that day in the
    -- user's zone (see user_settings), so one index orders whole days and times together.
    due_date      date,
    -- An RFC 5545 RRULE, and how many of its occurrences are done (COUNT limits that).
    repeat        text CHECK (char_length(repeat) <= 200),
    repeat_done   integer NOT NULL DEFAULT 0,
    -- In the trash since then; purged 30 days later.
    deleted_at    timestamptz,
    priority_rank smallint NOT NULL GENERATED ALWAYS AS (
        CASE priority WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END) STORED,
    PRIMARY KEY (user_id, task_id),
    CONSTRAINT tasks_repeat_needs_due CHECK (repeat IS NULL OR due_at IS NOT NULL)
);

-- One index per list order (sort by created uses the primary key); tasks without a due date
-- sort last, as if due at infinity.
CREATE INDEX tasks_user_completed_idx ON tasks (user_id, completed, task_id);
CREATE INDEX tasks_user_due_idx ON tasks (user_id, (coalesce(due_at, 'infinity'::timestamptz)), task_id);
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, priority_rank, task_id);
CREATE INDEX tasks_trash_idx ON tasks (user_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- A user's IANA time zone, in which date-only dues, "today" and "overdue" are judged. Users
-- without a row are in UTC.
CREATE TABLE user_settings (
    user_id    text        NOT NULL PRIMARY KEY,
    timezone   text        NOT NULL DEFAULT 'UTC',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- ChatKit threads and items, owned by chatproxy: JSONB documents plus the columns queries
-- filter and order on.
CREATE TABLE chat_threads (
    user_id    text        NOT NULL,
    id         text        NOT NULL,
    created_at timestamptz NOT NULL,
    seq        bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    doc        jsonb       NOT NULL,
    -- A streaming request holds a lease on its thread (token + expiry, renewed while it
    -- runs) so two requests never interleave writes, across replicas, without pinning a
    -- connection per open stream.
    lease_token text,
    lease_until timestamptz,
    PRIMARY KEY (user_id, id)
);

CREATE INDEX chat_threads_user_order_idx ON chat_threads (user_id, created_at, seq);

CREATE TABLE chat_items (
    user_id    text        NOT NULL,
    thread_id  text        NOT NULL,
    id         text        NOT NULL,
    type       text        NOT NULL,
    created_at timestamptz NOT NULL,
    seq        bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    doc        jsonb       NOT NULL,
    PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, thread_id) REFERENCES chat_threads (user_id, id) ON DELETE CASCADE
);

CREATE INDEX chat_items_thread_order_idx ON chat_items (user_id, thread_id, created_at, seq);
