// Package httpedge is the HTTP edge both taskwire services stand behind: bearer-token
// authentication with OAuth challenges, request-body limits and read deadlines, the one JSON
// error body, health and readiness, per-user rate limits, a gate that answers 503 while the
// database is away, and the serve loop with its drain on SIGTERM. Each service composes these
// pieces around its own routes; none of them knows about MCP or ChatKit.
package httpedge

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ErrorBody is the one shape of every JSON error taskwire's HTTP routes answer:
// {"error":{"code":"…","message":"…"}}. Code is stable and machine-readable; Message is
// for people and never carries secrets or internal details.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody. RetryAfter (seconds) is set on 429 and 503
// answers, mirroring the Retry-After header for clients that only read bodies.
type ErrorDetail struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// Error codes used by the edge itself.
const (
	CodeUnauthorized      = "unauthorized"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	CodeTooLarge          = "request_too_large"
	CodeRateLimited       = "rate_limited"
	CodeTooManyStreams    = "too_many_streams"
	CodeUnavailable       = "unavailable"
)

// WriteJSON answers with status and v as JSON. Responses are never cached: they carry
// per-user data or live state.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError answers with status and the JSON error body.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, ErrorBody{ErrorDetail{Code: code, Message: message}})
}

// WriteRetryable answers a request the client should repeat later (429, 503): the
// Retry-After header and the body both say when.
func WriteRetryable(w http.ResponseWriter, status int, code, message string, after time.Duration) {
	secs := RetryAfterSeconds(after)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteJSON(w, status, ErrorBody{ErrorDetail{Code: code, Message: message, RetryAfter: secs}})
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least one, as Retry-After needs.
func RetryAfterSeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}
