package chatkit

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/taskwire/taskwire/internal/httpedge"
)

// ErrNotFound is what a Store returns for a thread, item or cursor that does not exist for
// the user — including one that exists for another user, which must look exactly the same.
var ErrNotFound = errors.New("not found")

// ErrThreadBusy is what Store.LockThread returns when another request kept the thread for
// longer than the caller was willing to wait.
var ErrThreadBusy = errors.New("thread is busy with another response")

// Error is a request failure that is answered before any stream starts: an HTTP status and a
// JSON body {"error":{"code","message"}}. Server methods return it for everything a client
// did wrong; anything else is an internal error (500, details only in the log).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

// Error codes of HTTP error bodies.
const (
	CodeInvalidJSON    = "invalid_json"
	CodeInvalidRequest = "invalid_request"
	CodeNotFound       = "not_found"
	CodeNotSupported   = "not_supported"
	CodeTooLarge       = "request_too_large"
	CodeThreadBusy     = "thread_busy"
	CodeUnauthorized   = "unauthorized"
	CodeInternal       = "internal_error"
)

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

func notSupported(what string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeNotSupported, Message: what + " is not supported by this server"}
}

// storeError turns a Store failure into the answer for the client: missing things are 404
// (what names them), a busy thread 409, the rest internal.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return notFound(what)
	case errors.Is(err, ErrThreadBusy):
		return &Error{Status: http.StatusConflict, Code: CodeThreadBusy, Message: "another response is still running in this thread; try again when it has finished"}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// WriteError answers a request with status and the JSON error body every taskwire HTTP error
// uses (httpedge.WriteError). It is kept so the routes mounted next to /chatkit answer the
// same way.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	httpedge.WriteError(w, status, code, message)
}

// StreamError is what a Responder returns (or wraps) to choose the error event a failed turn
// ends with. Any other error becomes {"code":"stream.error","allow_retry":true} and is logged.
type StreamError struct {
	Code       string // ErrorCodeCustom (Message shown) or ErrorCodeStream (client's own text)
	Message    string
	AllowRetry bool
}

func (e *StreamError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code
}

// CustomError is a StreamError whose message the user sees, e.g. "Quota exceeded".
func CustomError(message string, allowRetry bool) *StreamError {
	return &StreamError{Code: ErrorCodeCustom, Message: message, AllowRetry: allowRetry}
}
