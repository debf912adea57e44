package healthcheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		delay   time.Duration
		wantErr bool
	}{
		{"healthy", http.StatusOK, 0, false},
		{"unhealthy", http.StatusServiceUnavailable, 0, true},
		{"too slow", http.StatusOK, 500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(tt.delay)
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			err := Check(context.Background(), srv.URL, 100*time.Millisecond)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	if err := Check(context.Background(), "http://127.0.0.1:1/health", time.Second); err == nil {
		t.Fatal("Check() of a closed port succeeded")
	}
}
