// Package healthcheck is the `healthcheck` subcommand of both service binaries: distroless
// images have no curl, so Docker's HEALTHCHECK runs the binary itself against its own /health.
package healthcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Check GETs url and succeeds only on a 200 within the timeout.
func Check(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build health request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}
