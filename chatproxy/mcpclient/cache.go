package mcpclient

import (
	"context"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// fetchTimeout bounds a shared tools/list fetch, which outlives the caller that started it.
const fetchTimeout = 30 * time.Second

// toolCache holds the last tools/list answer. A stale or missing entry is refetched by one
// caller while the others wait for that fetch; failures are not cached.
type toolCache struct {
	mu       sync.Mutex
	tools    []mcp.Tool
	at       time.Time
	inflight *flight
}

type flight struct {
	done  chan struct{}
	tools []mcp.Tool
	err   error
}

func (tc *toolCache) get(ctx context.Context, ttl time.Duration, fetch func(context.Context) ([]mcp.Tool, error)) ([]mcp.Tool, error) {
	tc.mu.Lock()
	if tc.tools != nil && time.Since(tc.at) < ttl {
		tools := tc.tools
		tc.mu.Unlock()
		return tools, nil
	}
	f := tc.inflight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		tc.inflight = f
		// The fetch is shared, so one caller leaving must not cancel it for the others; it
		// keeps the starter's values (its credentials).
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		go func() {
			defer cancel()
			f.tools, f.err = fetch(fctx)
			tc.mu.Lock()
			if f.err == nil {
				tc.tools, tc.at = f.tools, time.Now()
			}
			tc.inflight = nil
			tc.mu.Unlock()
			close(f.done)
		}()
	}
	tc.mu.Unlock()
	select {
	case <-f.done:
		return f.tools, f.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
