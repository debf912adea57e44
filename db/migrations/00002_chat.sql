-- +goose Up
-- ChatKit threads and items, owned by chatproxy. Each is a JSONB document (so a new ChatKit
-- field never needs a migration) plus the columns that queries filter and order on. Every key
-- leads with the user, so one user's id can never address another user's row.
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

-- +goose Down
-- Nothing: an upgrade never drops user data, and goose is only ever run upwards.
