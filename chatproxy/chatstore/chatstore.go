// Package chatstore keeps ChatKit threads and items in PostgreSQL (tables chat_threads and
// chat_items, queries in db/queries/chat.sql): each a JSONB document plus the columns that
// queries filter and order on. Every statement names the user, so another user's thread or
// item is indistinguishable from a missing one.
package chatstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/db"
)

// Options tune the per-thread lock. Zero fields take the defaults.
type Options struct {
	// LeaseTTL is how long a thread lock lives without renewal: the longest a crashed
	// replica can keep a thread busy. Renewed every LeaseTTL/3 while held. Default 30 s.
	LeaseTTL time.Duration
	// LockWait is how long a second streaming request waits for a thread before it is
	// answered 409 thread_busy. Default 60 s.
	LockWait time.Duration
	// PollInterval is how often a waiting request retries the lock. Default 100 ms.
	PollInterval time.Duration
}

// Store is a chatkit.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	q    *db.Queries
	opt  Options
	memo itemMemo // the items turns start from, decoded
}

var _ chatkit.Store = (*Store)(nil)

// New returns a Store on pool (already migrated by db.Migrate).
func New(pool *pgxpool.Pool, opt Options) *Store {
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 30 * time.Second
	}
	if opt.LockWait <= 0 {
		opt.LockWait = 60 * time.Second
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 100 * time.Millisecond
	}
	return &Store{pool: pool, q: db.New(pool), opt: opt}
}

// Ping checks that the database answers (for /health).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Sentinels for a first page: before every row (asc) and after every row (desc).
var (
	firstAsc  = cursor{at: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), seq: math.MinInt64}
	firstDesc = cursor{at: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), seq: math.MaxInt64}
)

type cursor struct {
	at  time.Time
	seq int64
}

func start(order chatkit.Order) cursor {
	if order == chatkit.Asc {
		return firstAsc
	}
	return firstDesc
}

// CreateThread implements chatkit.Store: one statement, so the thread and its first item are
// stored together or not at all, in one round trip.
func (s *Store) CreateThread(ctx context.Context, userID string, t *chatkit.Thread, first chatkit.Item) error {
	doc, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode thread %s: %w", t.ID, err)
	}
	if first == nil {
		if err := s.q.InsertChatThread(ctx, db.InsertChatThreadParams{UserID: userID, ID: t.ID, CreatedAt: t.CreatedAt, Doc: doc}); err != nil {
			return fmt.Errorf("insert thread %s: %w", t.ID, err)
		}
		return nil
	}
	b := first.Base()
	itemDoc, err := json.Marshal(first)
	if err != nil {
		return fmt.Errorf("encode item %s: %w", b.ID, err)
	}
	err = s.q.InsertChatThreadWithItem(ctx, db.InsertChatThreadWithItemParams{
		UserID: userID, ID: t.ID, CreatedAt: t.CreatedAt, Doc: doc,
		ItemID: b.ID, ItemType: first.ItemType(), ItemCreatedAt: b.CreatedAt, ItemDoc: itemDoc,
	})
	if err != nil {
		return fmt.Errorf("insert thread %s with item %s: %w", t.ID, b.ID, err)
	}
	return nil
}

// SaveThread implements chatkit.Store.
func (s *Store) SaveThread(ctx context.Context, userID string, t *chatkit.Thread) error {
	doc, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode thread %s: %w", t.ID, err)
	}
	n, err := s.q.UpdateChatThread(ctx, db.UpdateChatThreadParams{UserID: userID, ID: t.ID, Doc: doc})
	if err != nil {
		return fmt.Errorf("update thread %s: %w", t.ID, err)
	}
	if n == 0 {
		return chatkit.ErrNotFound
	}
	return nil
}

// LoadThread implements chatkit.Store.
func (s *Store) LoadThread(ctx context.Context, userID, threadID string) (*chatkit.Thread, error) {
	doc, err := s.q.GetChatThread(ctx, db.GetChatThreadParams{UserID: userID, ID: threadID})
	if err != nil {
		return nil, notFoundOr(err, "load thread %s", threadID)
	}
	return decodeThread(doc)
}

func decodeThread(doc json.RawMessage) (*chatkit.Thread, error) {
	var t chatkit.Thread
	if err := json.Unmarshal(doc, &t); err != nil {
		return nil, fmt.Errorf("decode thread: %w", err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// LoadThreads implements chatkit.Store.
func (s *Store) LoadThreads(ctx context.Context, userID string, q chatkit.PageQuery) (chatkit.Page[*chatkit.Thread], error) {
	c := start(q.Order)
	if q.After != "" {
		row, err := s.q.GetChatThreadCursor(ctx, db.GetChatThreadCursorParams{UserID: userID, ID: q.After})
		if err != nil {
			return chatkit.Page[*chatkit.Thread]{}, notFoundOr(err, "resolve thread cursor %s", q.After)
		}
		c = cursor{row.CreatedAt, row.Seq}
	}
	var (
		docs []json.RawMessage
		err  error
	)
	limit := rowLimit(q.Limit)
	if q.Order == chatkit.Asc {
		docs, err = s.q.ListChatThreadsAsc(ctx, db.ListChatThreadsAscParams{UserID: userID, AfterCreatedAt: c.at, AfterSeq: c.seq, RowLimit: limit})
	} else {
		docs, err = s.q.ListChatThreadsDesc(ctx, db.ListChatThreadsDescParams{UserID: userID, BeforeCreatedAt: c.at, BeforeSeq: c.seq, RowLimit: limit})
	}
	if err != nil {
		return chatkit.Page[*chatkit.Thread]{}, fmt.Errorf("list threads: %w", err)
	}
	return toPage(docs, q.Limit, decodeThread, func(t *chatkit.Thread) string { return t.ID })
}

// DeleteThread implements chatkit.Store; the items go with it (ON DELETE CASCADE).
func (s *Store) DeleteThread(ctx context.Context, userID, threadID string) error {
	n, err := s.q.DeleteChatThread(ctx, db.DeleteChatThreadParams{UserID: userID, ID: threadID})
	if err != nil {
		return fmt.Errorf("delete thread %s: %w", threadID, err)
	}
	if n == 0 {
		return chatkit.ErrNotFound
	}
	return nil
}

// LoadItems implements chatkit.Store. An unknown thread yields an empty page; an unknown
// cursor is ErrNotFound.
func (s *Store) LoadItems(ctx context.Context, userID, threadID string, q chatkit.PageQuery) (chatkit.Page[chatkit.Item], error) {
	c := start(q.Order)
	if q.After != "" {
		row, err := s.q.GetChatItemCursor(ctx, db.GetChatItemCursorParams{UserID: userID, ThreadID: threadID, ID: q.After})
		if err != nil {
			return chatkit.Page[chatkit.Item]{}, notFoundOr(err, "resolve item cursor %s", q.After)
		}
		c = cursor{row.CreatedAt, row.Seq}
	}
	var (
		docs []json.RawMessage
		err  error
	)
	limit := rowLimit(q.Limit)
	if q.Order == chatkit.Asc {
		docs, err = s.q.ListChatItemsAsc(ctx, db.ListChatItemsAscParams{UserID: userID, ThreadID: threadID, AfterCreatedAt: c.at, AfterSeq: c.seq, RowLimit: limit})
	} else {
		docs, err = s.q.ListChatItemsDesc(ctx, db.ListChatItemsDescParams{UserID: userID, ThreadID: threadID, BeforeCreatedAt: c.at, BeforeSeq: c.seq, RowLimit: limit})
	}
	if err != nil {
		return chatkit.Page[chatkit.Item]{}, fmt.Errorf("list items of thread %s: %w", threadID, err)
	}
	return toPage(docs, q.Limit, decodeItem, itemID)
}

func decodeItem(doc json.RawMessage) (chatkit.Item, error) { return chatkit.DecodeItem(doc) }

func itemID(i chatkit.Item) string { return i.Base().ID }

// rowLimit asks for one row more than the page, to learn has_more without a count.
func rowLimit(limit int) int32 {
	return int32(min(max(limit, 1), math.MaxInt32-1) + 1)
}

// toPage decodes up to limit rows (documents); a further row means has_more, and then the
// cursor is the id of the last row returned.
func toPage[R, T any](docs []R, limit int, decode func(R) (T, error), id func(T) string) (chatkit.Page[T], error) {
	limit = max(limit, 1)
	page := chatkit.Page[T]{Data: make([]T, 0, min(len(docs), limit))}
	if len(docs) > limit {
		page.HasMore = true
		docs = docs[:limit]
	}
	for _, d := range docs {
		v, err := decode(d)
		if err != nil {
			return chatkit.Page[T]{}, err
		}
		page.Data = append(page.Data, v)
	}
	if page.HasMore {
		page.After = id(page.Data[len(page.Data)-1])
	}
	return page, nil
}

// LoadItem implements chatkit.Store.
func (s *Store) LoadItem(ctx context.Context, userID, threadID, itemID string) (chatkit.Item, error) {
	doc, err := s.q.GetChatItem(ctx, db.GetChatItemParams{UserID: userID, ThreadID: threadID, ID: itemID})
	if err != nil {
		return nil, notFoundOr(err, "load item %s", itemID)
	}
	return chatkit.DecodeItem(doc)
}

// SaveItem implements chatkit.Store: an upsert that keeps a known item's position.
func (s *Store) SaveItem(ctx context.Context, userID, threadID string, item chatkit.Item) error {
	return saveItem(ctx, s.q, userID, threadID, item)
}

// saveItem upserts item with q, which may be a transaction's.
func saveItem(ctx context.Context, q *db.Queries, userID, threadID string, item chatkit.Item) error {
	p, err := itemParams(userID, threadID, item)
	if err != nil {
		return err
	}
	n, err := q.UpsertChatItem(ctx, p)
	return savedOr(item, n, err)
}

// itemParams is item as UpsertChatItem stores it.
func itemParams(userID, threadID string, item chatkit.Item) (db.UpsertChatItemParams, error) {
	b := item.Base()
	doc, err := json.Marshal(item)
	if err != nil {
		return db.UpsertChatItemParams{}, fmt.Errorf("encode item %s: %w", b.ID, err)
	}
	return db.UpsertChatItemParams{
		UserID: userID, ThreadID: threadID, ID: b.ID, Type: item.ItemType(), CreatedAt: b.CreatedAt, Doc: doc,
	}, nil
}

// savedOr is the outcome of an upsert of item that stored n items and returned err.
func savedOr(item chatkit.Item, n int64, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation: no such thread
		return chatkit.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("save item %s: %w", item.Base().ID, err)
	}
	if n == 0 {
		return fmt.Errorf("save item %s: the id belongs to another thread", item.Base().ID)
	}
	return nil
}

// DeleteItem implements chatkit.Store.
func (s *Store) DeleteItem(ctx context.Context, userID, threadID, itemID string) error {
	if err := s.q.DeleteChatItem(ctx, db.DeleteChatItemParams{UserID: userID, ThreadID: threadID, ID: itemID}); err != nil {
		return fmt.Errorf("delete item %s: %w", itemID, err)
	}
	return nil
}

// DeleteItemsAfter implements chatkit.Store.
func (s *Store) DeleteItemsAfter(ctx context.Context, userID, threadID, itemID string) error {
	row, err := s.q.GetChatItemCursor(ctx, db.GetChatItemCursorParams{UserID: userID, ThreadID: threadID, ID: itemID})
	if err != nil {
		return notFoundOr(err, "resolve item %s", itemID)
	}
	_, err = s.q.DeleteChatItemsAfter(ctx, db.DeleteChatItemsAfterParams{UserID: userID, ThreadID: threadID, AfterCreatedAt: row.CreatedAt, AfterSeq: row.Seq})
	if err != nil {
		return fmt.Errorf("delete items after %s: %w", itemID, err)
	}
	return nil
}

// CountItems implements chatkit.Store.
func (s *Store) CountItems(ctx context.Context, userID, threadID string, ids []string) (int, error) {
	n, err := s.q.CountChatItems(ctx, db.CountChatItemsParams{UserID: userID, ThreadID: threadID, Ids: ids})
	if err != nil {
		return 0, fmt.Errorf("count items of thread %s: %w", threadID, err)
	}
	return int(n), nil
}

func notFoundOr(err error, format string, args ...any) error {
	if db.IsNotFound(err) {
		return chatkit.ErrNotFound
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// LockThread implements chatkit.Store with a lease on the thread row: a token and an expiry
// that the holder renews while it streams. Unlike a session advisory lock it pins no
// connection per open stream (a pool of a few connections serves many streams), and unlike
// an in-process mutex it holds across replicas; a crashed holder's lease simply expires.
// Taking the lease, storing start's item and reading the thread and its newest items are one
// statement (StartChatTurn), so a turn begins with one round trip.
func (s *Store) LockThread(ctx context.Context, userID, threadID string, start chatkit.TurnStart) (*chatkit.LockedThread, error) {
	token := newToken()
	deadline := time.Now().Add(s.opt.LockWait)
	for {
		locked, err := s.startTurn(ctx, userID, threadID, token, start)
		if err != nil || locked != nil {
			return locked, err
		}
		if _, err := s.q.GetChatThreadCursor(ctx, db.GetChatThreadCursorParams{UserID: userID, ID: threadID}); err != nil {
			return nil, notFoundOr(err, "lock thread %s", threadID)
		}
		if time.Now().After(deadline) {
			return nil, chatkit.ErrThreadBusy
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(s.opt.PollInterval):
		}
	}
}

// startTurn makes one attempt to take the thread; nil and no error when it is busy or missing.
func (s *Store) startTurn(ctx context.Context, userID, threadID, token string, start chatkit.TurnStart) (*chatkit.LockedThread, error) {
	p := db.StartChatTurnParams{Token: token, TtlSeconds: s.opt.LeaseTTL.Seconds(), UserID: userID, ThreadID: threadID}
	if start.Recent > 0 {
		p.RecentLimit = rowLimit(start.Recent)
	}
	var item chatkit.Item
	if start.NewItem != nil {
		item = start.NewItem()
		b := item.Base()
		doc, err := json.Marshal(item)
		if err != nil {
			return nil, fmt.Errorf("encode item %s: %w", b.ID, err)
		}
		p.ItemID, p.ItemType, p.ItemCreatedAt, p.ItemDoc = b.ID, item.ItemType(), b.CreatedAt, doc
	}
	rows, err := s.q.StartChatTurn(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("lock thread %s: %w", threadID, err)
	}
	if len(rows) == 0 || !rows[0].IsThread {
		return nil, nil
	}
	l := &lease{s: s, userID: userID, threadID: threadID, token: token, lost: make(chan struct{}), done: make(chan struct{})}
	locked, err := s.lockedThread(userID, rows, item, start.Recent)
	if err != nil {
		l.Release() // taken by the statement, but the turn cannot start
		return nil, err
	}
	go l.renew()
	locked.ThreadLock = l
	return locked, nil
}

// lockedThread reads StartChatTurn's rows: the thread, then up to recent items newest first.
func (s *Store) lockedThread(userID string, rows []db.StartChatTurnRow, item chatkit.Item, recent int) (*chatkit.LockedThread, error) {
	if item != nil && rows[0].Added == 0 {
		return nil, fmt.Errorf("save item %s: the id belongs to another thread", item.Base().ID)
	}
	thread, err := decodeThread(json.RawMessage(rows[0].Doc))
	if err != nil {
		return nil, err
	}
	page, err := toPage(rows[1:], recent, func(r db.StartChatTurnRow) (chatkit.Item, error) {
		return s.memo.decode(userID, r.ItemID, r.ItemType, r.Doc)
	}, itemID)
	if err != nil {
		return nil, err
	}
	return &chatkit.LockedThread{Thread: thread, Recent: page}, nil
}

type lease struct {
	s                *Store
	userID, threadID string
	token            string
	lost, done       chan struct{}
	stop             sync.Once   // closes done: renewals end
	released         atomic.Bool // given back: Release has nothing left to do
}

// renew extends the lease every TTL/3 until released; if the lease is gone (expired and taken
// by another request, or the thread deleted) or cannot be renewed before it expires, Lost
// closes.
func (l *lease) renew() {
	every := l.s.opt.LeaseTTL / 3
	expires := time.Now().Add(l.s.opt.LeaseTTL)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		n, err := l.s.q.RenewChatThreadLease(ctx, db.RenewChatThreadLeaseParams{UserID: l.userID, ID: l.threadID, Token: l.token, TtlSeconds: l.s.opt.LeaseTTL.Seconds()})
		cancel()
		switch {
		case err == nil && n == 1:
			expires = time.Now().Add(l.s.opt.LeaseTTL)
		case err == nil || time.Now().Add(every).After(expires):
			select {
			case <-l.done: // given back while this renewal ran: nothing was lost
			default:
				close(l.lost)
			}
			return
		}
	}
}

func (l *lease) Lost() <-chan struct{} { return l.lost }

func (l *lease) Release() {
	l.stop.Do(func() { close(l.done) })
	if l.released.Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A failed release only delays the next request until the lease expires.
	_ = l.s.q.ReleaseChatThreadLease(ctx, db.ReleaseChatThreadLeaseParams{UserID: l.userID, ID: l.threadID, Token: l.token})
}

// ReleaseWith implements chatkit.ThreadLock: item is upserted (as SaveItem) and the lease
// given back in one statement, so a turn ends with one round trip instead of two. If the
// statement fails the lease is still held, and Release gives it back.
func (l *lease) ReleaseWith(ctx context.Context, item chatkit.Item) error {
	if l.released.Load() {
		return fmt.Errorf("save item %s: the thread was already given back", item.Base().ID)
	}
	p, err := itemParams(l.userID, l.threadID, item)
	if err != nil {
		return err
	}
	l.stop.Do(func() { close(l.done) }) // the turn ends here either way
	n, err := l.s.q.UpsertChatItemReleasingLease(ctx, db.UpsertChatItemReleasingLeaseParams{
		UserID: p.UserID, ThreadID: p.ThreadID, Token: l.token, ID: p.ID, Type: p.Type, CreatedAt: p.CreatedAt, Doc: p.Doc,
	})
	if err == nil {
		l.released.Store(true)
	}
	return savedOr(item, n, err)
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
