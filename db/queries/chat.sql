-- ChatKit threads and items (chatproxy). Every statement names the user, so one user's ids
-- never reach another user's rows. Pages are keyset pages over (created_at, seq): the caller
-- resolves a cursor to its (created_at, seq) and passes a sentinel for the first page.

-- name: InsertChatThread :exec
INSERT INTO chat_threads (user_id, id, created_at, doc)
VALUES (@user_id, @id, @created_at, @doc);

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

-- name: AcquireChatThreadLease :execrows
-- Takes the thread's lease when it is free or expired; zero rows means busy or missing.
UPDATE chat_threads
SET lease_token = @token::text, lease_until = now() + make_interval(secs => @ttl_seconds::float8)
WHERE user_id = @user_id AND id = @id AND (lease_until IS NULL OR lease_until < now());

-- name: RenewChatThreadLease :execrows
UPDATE chat_threads
SET lease_until = now() + make_interval(secs => @ttl_seconds::float8)
WHERE user_id = @user_id AND id = @id AND lease_token = @token::text;

-- name: ReleaseChatThreadLease :exec
UPDATE chat_threads
SET lease_token = NULL, lease_until = NULL
WHERE user_id = @user_id AND id = @id AND lease_token = @token::text;

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
