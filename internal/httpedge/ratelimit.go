package httpedge

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// DefaultLimitedUsers bounds how many users' buckets a RateLimiter keeps. The least recently
// seen user's bucket is dropped first; such a user simply starts again with a full bucket.
const DefaultLimitedUsers = 100_000

// RateLimiter is a token bucket per user: a sustained rate with a burst. It is per process,
// so with N replicas a user gets up to N times the rate overall. Safe for concurrent use.
type RateLimiter struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	users *lru.Cache[string, *rate.Limiter]
	now   func() time.Time
}

// NewRateLimiter allows perSecond events per user on average and burst at once, keeping at
// most size users (DefaultLimitedUsers when size <= 0).
func NewRateLimiter(perSecond float64, burst, size int) *RateLimiter {
	if size <= 0 {
		size = DefaultLimitedUsers
	}
	users, _ := lru.New[string, *rate.Limiter](size) // size > 0 cannot fail
	return &RateLimiter{limit: rate.Limit(perSecond), burst: burst, users: users, now: time.Now}
}

// Allow takes n events from user's bucket. When they do not fit it takes nothing and says
// how long until they would.
func (l *RateLimiter) Allow(user string, n int) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	lim, ok := l.users.Get(user)
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.users.Add(user, lim)
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, n)
	if !r.OK() { // more than the burst at once: never fits; wait as if the bucket were empty
		return false, time.Duration(float64(n) / float64(l.limit) * float64(time.Second))
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// StreamLimit caps how many long-lived responses (chat streams) one user holds open at
// once. Safe for concurrent use; it only remembers users with open streams.
type StreamLimit struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

// NewStreamLimit allows max open streams per user.
func NewStreamLimit(max int) *StreamLimit {
	return &StreamLimit{max: max, open: map[string]int{}}
}

// Acquire opens a stream for user, or reports false when the user already holds max. The
// caller must call release exactly once when the stream ends.
func (s *StreamLimit) Acquire(user string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[user] >= s.max {
		return nil, false
	}
	s.open[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[user]--; s.open[user] <= 0 {
				delete(s.open, user)
			}
		})
	}, true
}
