package llm

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	c := &Client{retryDelay: 500 * time.Millisecond}
	tests := []struct {
		try      int
		min, max time.Duration
	}{
		{1, 250 * time.Millisecond, 500 * time.Millisecond},
		{2, 500 * time.Millisecond, time.Second},
		{3, time.Second, 2 * time.Second},
		{6, 4 * time.Second, 8 * time.Second},
		{40, 4 * time.Second, 8 * time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if d := c.backoff(tt.try); d < tt.min || d > tt.max {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", tt.try, d, tt.min, tt.max)
			}
		}
	}
	if d := (&Client{}).backoff(3); d != 0 {
		t.Errorf("backoff with no delay = %s, want 0", d)
	}
}
