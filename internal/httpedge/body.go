package httpedge

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// LimitBody refuses request bodies over max bytes: a declared Content-Length at once with
// 413, a streamed body with an error from Read once it passes the limit (handlers that see
// *http.MaxBytesError answer 413 too).
func LimitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request bodies are limited to %d bytes", max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// BodyDeadline gives a client d to send its whole request body; a client dribbling one
// byte at a time (slowloris) is cut off then. Unlike http.Server.ReadTimeout it ends when
// the body has been read, so a long response — a ChatKit stream, a slow tool call — keeps
// its connection; the server's background read for client disconnects then runs without a
// deadline.
func BodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			next.ServeHTTP(w, r) // not a connection we can set deadlines on (tests, HTTP/2)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline once the body has been read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
