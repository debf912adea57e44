package loopback

import (
	"net/http/httptest"
	"testing"
)

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:8001": true, "localhost": true, "LOCALHOST:80": true,
		"::1": true, "[::1]": true, "[::1]:8000": true, "127.1.2.3": true,
		"0.0.0.0": false, "10.0.0.1": false, "example.com": false, "": false, "localhost.evil.com": false,
	} {
		if got := Host(host); got != want {
			t.Errorf("Host(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRemote(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:5000": true, "[::1]:5000": true, "203.0.113.9:4444": false, "garbage": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := Remote(r); got != want {
			t.Errorf("Remote(%q) = %v, want %v", addr, got, want)
		}
	}
}
