// Package loopback answers "does this name only this machine?" for the dev-mode guards of both
// services: conveniences such as token-less requests or handed-out dev tokens must never be
// reachable from another machine.
package loopback

import (
	"net"
	"net/http"
	"strings"
)

// Host reports whether host (with or without a port, IPv6 with or without brackets) is
// localhost or a loopback address.
func Host(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Remote reports whether r came from a loopback address.
func Remote(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
