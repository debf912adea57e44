package db_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/pgtest"
)

// TestOpenPoolSize: without pool_max_conns the pool allows 4 connections per CPU (at least
// 8); with it, the URL decides.
func TestOpenPoolSize(t *testing.T) {
	url := pgtest.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		name, url string
		want      int32
	}{
		{"default", url, int32(max(8, 4*runtime.NumCPU()))},
		{"from the URL", url + sep + "pool_max_conns=3", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := db.Open(context.Background(), tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if got := pool.Config().MaxConns; got != tc.want {
				t.Errorf("MaxConns = %d, want %d", got, tc.want)
			}
		})
	}
}
