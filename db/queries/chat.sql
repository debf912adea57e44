-- ChatKit threads and items (chatproxy). Every statement names the user, so one user's ids
-- never reach another user's rows. Pages are keyset pages over (created_at, seq): the caller
-- resolves a cursor to its (created_at, seq) and passes a sentinel for the first page.

-- name: InsertChatThread :exec
INSERT INTO chat_threads (user_id, id, created_at, doc)
VALUES (@user_id, @id, @created_at, @doc);

-- name: InsertChatThreadWithItem :exec
-- A new thread and its first item in one statement (one round trip, all or nothing): an item
-- id that already exists fails the whole statement, so no thread is left without its item.
WITH thread AS (
    INSERT INTO chat_threads (user_id, id, created_at, doc)
    VALUES (@user_id, @id, @created_at, @doc)
    RETURNING chat_threads.user_id, chat_threads.id
)
INSERT INTO chat_items (user_id, thread_id, id, type, created_at, doc)
SELECT thread.user_id, thread.id, @item_id::text, @item_type::text, @item_created_at::timestamptz, @item_doc::jsonb
FROM thread;

-- name: UpdateChatThread :execrows
UPDATE chat_threads SET doc = @doc
WHERE user_id = @user_id AND id = @id;

-- name: GetChatThread :one
SELECT doc FROM chat_threads
WHERE user_id = @user_id AND id = @id;

-- name: GetChatThreadCursor :one
SELECT created_at, seq FROM chat_threads
WHERE user_id = @user_id AND id = @id;

-- name: ListChatThreadsAsc :many
SELECT doc FROM chat_threads
WHERE user_id = @user_id AND (created_at, seq) > (@after_created_at::timestamptz, @after_seq::bigint)
ORDER BY created_at, seq
LIMIT @row_limit;

-- name: ListChatThreadsDesc :many
SELECT doc FROM chat_threads
WHERE user_id = @user_id AND (created_at, seq) < (@before_created_at::timestamptz, @before_seq::bigint)
ORDER BY created_at DESC, seq DESC
LIMIT @row_limit;

-- name: DeleteChatThread :execrows
DELETE FROM chat_threads
WHERE user_id = @user_id AND id = @id;

-- name: StartChatTurn :many
-- What a streaming request does first, in one round trip: take the thread's lease when it is
-- free or expired and, only then, upsert the turn's new item (none when @item_id is '') as
-- UpsertChatItem does, and read the thread and its newest items. The first row is the thread
-- (is_thread, with added = how many items were stored: 0 means the id lives in another
-- thread), then up to @recent_limit items newest first with their item_id and item_type, the
-- new one included (it is not in the statement's snapshot, so it comes from the INSERT's
-- RETURNING). No rows: the thread is busy or missing. The documents come as text, which the
-- driver hands over as they are (as jsonb it validates each one, twice the work of decoding
-- an item the store has decoded before).
WITH lease AS (
    UPDATE chat_threads
    SET lease_token = @token::text, lease_until = now() + make_interval(secs => @ttl_seconds::float8)
    WHERE chat_threads.user_id = @user_id::text AND chat_threads.id = @thread_id::text
      AND (lease_until IS NULL OR lease_until < now())
    RETURNING chat_threads.created_at, chat_threads.seq, chat_threads.doc
), added AS (
    INSERT INTO chat_items (user_id, thread_id, id, type, created_at, doc)
    SELECT @user_id::text, @thread_id::text, @item_id::text, @item_type::text,
           @item_created_at::timestamptz, @item_doc::jsonb
    FROM lease
    WHERE @item_id::text <> ''
    ON CONFLICT (user_id, id) DO UPDATE
    SET doc = excluded.doc, type = excluded.type
    WHERE chat_items.thread_id = excluded.thread_id
    RETURNING chat_items.id, chat_items.type, chat_items.created_at, chat_items.seq, chat_items.doc
), recent AS (
    SELECT added.id, added.type, added.created_at, added.seq, added.doc FROM added
    UNION ALL
    (SELECT i.id, i.type, i.created_at, i.seq, i.doc FROM chat_items i
     WHERE i.user_id = @user_id::text AND i.thread_id = @thread_id::text
       AND EXISTS (SELECT 1 FROM lease)
       AND i.id NOT IN (SELECT added.id FROM added)
     ORDER BY i.created_at DESC, i.seq DESC
     LIMIT @recent_limit::int)
)
SELECT true AS is_thread, ''::text AS item_id, ''::text AS item_type, lease.created_at, lease.seq, lease.doc::text AS doc,
       (SELECT count(*) FROM added) AS added
FROM lease
UNION ALL
(SELECT false, recent.id, recent.type, recent.created_at, recent.seq, recent.doc::text, 0
 FROM recent
 ORDER BY recent.created_at DESC, recent.seq DESC
 LIMIT @recent_limit::int)
ORDER BY is_thread DESC, created_at DESC, seq DESC;

-- name: RenewChatThreadLease :execrows
UPDATE chat_threads
SET lease_until = now() + make_interval(secs => @ttl_seconds::float8)
WHERE user_id = @user_id AND id = @id AND lease_token = @token::text;

-- name: ReleaseChatThreadLease :exec
UPDATE chat_threads
SET lease_token = NULL, lease_until = NULL
WHERE user_id = @user_id AND id = @id AND lease_token = @token::text;

-- name: UpsertChatItemReleasingLease :one
-- The end of a turn in one round trip: UpsertChatItem, and the thread's lease given back if
-- @token still holds it (as ReleaseChatThreadLease). Returns how many items were stored: 0
-- means the id lives in another thread. The lease is given back either way, since the turn
-- ends; a statement that fails gives back nothing.
WITH released AS (
    UPDATE chat_threads
    SET lease_token = NULL, lease_until = NULL
    WHERE chat_threads.user_id = @user_id::text AND chat_threads.id = @thread_id::text
      AND lease_token = @token::text
    RETURNING 1
), saved AS (
    INSERT INTO chat_items (user_id, thread_id, id, type, created_at, doc)
    VALUES (@user_id::text, @thread_id::text, @id::text, @type::text, @created_at::timestamptz, @doc::jsonb)
    ON CONFLICT (user_id, id) DO UPDATE
    SET doc = excluded.doc, type = excluded.type
    WHERE chat_items.thread_id = excluded.thread_id
    RETURNING 1
)
SELECT count(*) FROM saved;

-- name: UpsertChatItem :execrows
-- Adding an item twice keeps its first position (created_at, seq) and takes the new
-- document. An id that already lives in another thread is not touched (zero rows).
INSERT INTO chat_items (user_id, thread_id, id, type, created_at, doc)
VALUES (@user_id, @thread_id, @id, @type, @created_at, @doc)
ON CONFLICT (user_id, id) DO UPDATE
SET doc = excluded.doc, type = excluded.type
WHERE chat_items.thread_id = excluded.thread_id;

-- name: GetChatItem :one
SELECT doc FROM chat_items
WHERE user_id = @user_id AND thread_id = @thread_id AND id = @id;

-- name: GetChatItemCursor :one
SELECT created_at, seq FROM chat_items
WHERE user_id = @user_id AND thread_id = @thread_id AND id = @id;

-- name: ListChatItemsAsc :many
SELECT doc FROM chat_items
WHERE user_id = @user_id AND thread_id = @thread_id
  AND (created_at, seq) > (@after_created_at::timestamptz, @after_seq::bigint)
ORDER BY created_at, seq
LIMIT @row_limit;

-- name: ListChatItemsDesc :many
SELECT doc FROM chat_items
WHERE user_id = @user_id AND thread_id = @thread_id
  AND (created_at, seq) < (@before_created_at::timestamptz, @before_seq::bigint)
ORDER BY created_at DESC, seq DESC
LIMIT @row_limit;

-- name: CountChatItems :one
SELECT count(*) FROM chat_items
WHERE user_id = @user_id AND thread_id = @thread_id AND id = ANY(@ids::text[]);

-- name: DeleteChatItem :exec
DELETE FROM chat_items
WHERE user_id = @user_id AND thread_id = @thread_id AND id = @id;

-- name: DeleteChatItemsAfter :execrows
DELETE FROM chat_items
WHERE user_id = @user_id AND thread_id = @thread_id
  AND (created_at, seq) > (@after_created_at::timestamptz, @after_seq::bigint);
