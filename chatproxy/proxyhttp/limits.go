package proxyhttp

import (
	"net/http"
	"time"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
)

// Limits bound each user's model turns, per replica: a model turn costs money and holds a
// connection for its whole answer.
type Limits struct {
	// TurnsPerMinute and TurnBurst are a token bucket over turns (POST /chatkit streaming
	// requests and /api/chat); zero TurnsPerMinute: no rate limit.
	TurnsPerMinute float64
	TurnBurst      int
	// MaxStreams caps the turns a user has running at once; zero: no cap.
	MaxStreams int
}

// turnLimits applies Limits to turn routes.
type turnLimits struct {
	rate    *httpedge.RateLimiter // nil: no rate limit
	streams *httpedge.StreamLimit // nil: no cap
}

func newTurnLimits(l Limits) *turnLimits {
	t := &turnLimits{}
	if l.TurnsPerMinute > 0 {
		t.rate = httpedge.NewRateLimiter(l.TurnsPerMinute/60, max(l.TurnBurst, 1), 0)
	}
	if l.MaxStreams > 0 {
		t.streams = httpedge.NewStreamLimit(l.MaxStreams)
	}
	return t
}

// streamRetry is what a user at the open-stream cap is told to wait: streams end within
// seconds to minutes, so a short wait and a retry is the honest answer.
const streamRetry = 5 * time.Second

// turnKind says what a request costs: nothing, an open stream, or an open stream that
// runs a model turn.
type turnKind int

const (
	notATurn   turnKind = iota
	streamOnly          // answered by a stream without the model (a widget action)
	modelTurn           // answered by a stream that runs the model
)

// wrap limits the requests of next by what classify says they are (nil: all of them are
// model turns). Every stream counts against the user's open streams; only model turns
// count against the turn rate, so ticking boxes in a widget — tool calls that mcpserver
// rate-limits itself — never uses up the user's chat turns. Over a limit the answer is 429
// with Retry-After; nothing is stored.
func (t *turnLimits) wrap(classify func(*http.Request) turnKind, next http.Handler) http.Handler {
	if t.rate == nil && t.streams == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.UserFrom(r.Context())
		kind := modelTurn
		if classify != nil {
			kind = classify(r)
		}
		if kind == notATurn {
			next.ServeHTTP(w, r)
			return
		}
		if t.streams != nil {
			release, ok := t.streams.Acquire(id.UserID)
			if !ok {
				httpedge.WriteRetryable(w, http.StatusTooManyRequests, httpedge.CodeTooManyStreams,
					"too many answers are running for you at once; wait for one to finish", streamRetry)
				return
			}
			defer release()
		}
		if t.rate != nil && kind == modelTurn {
			if ok, wait := t.rate.Allow(id.UserID, 1); !ok {
				httpedge.WriteRetryable(w, http.StatusTooManyRequests, httpedge.CodeRateLimited,
					"too many chat turns; wait a moment before sending the next message", wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
