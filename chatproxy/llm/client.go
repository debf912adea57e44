// Package llm calls the chat model: any OpenAI-compatible Chat Completions API (OpenAI, Gemini,
// Ollama, vLLM, LiteLLM, OpenRouter) through sashabaranov/go-openai, with our own streaming
// accumulator for the providers' tool-call quirks, retries with backoff before the first
// token, and an optional fallback provider. Nothing here knows about ChatKit or MCP.
package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// ErrUnavailable wraps the failure of a turn that never got a first token from any provider
// after retries (429, 5xx, unreachable, first-token timeout): worth "try again later".
var ErrUnavailable = errors.New("the language model is unavailable")

// ErrInterrupted wraps a stream that broke after output had begun. It is never retried, since
// the caller has already shown part of the answer; the Turn returned with it holds that part.
var ErrInterrupted = errors.New("the language model's answer broke off")

// errFirstTokenTimeout is the cancellation cause of an attempt that produced nothing in time.
var errFirstTokenTimeout = errors.New("no first token within the time limit")

// maxRetryDelay caps the exponential backoff.
const maxRetryDelay = 8 * time.Second

// Client calls the configured model(s). It is safe for concurrent use.
type Client struct {
	backends          []backend
	maxRetries        int
	retryDelay        time.Duration
	firstTokenTimeout time.Duration
	logger            *slog.Logger
}

type backend struct {
	Provider
	api *openai.Client
}

// Option adjusts a Client.
type Option func(*options)

type options struct {
	httpClient *http.Client
	logger     *slog.Logger
}

// WithHTTPClient replaces the HTTP client (by default: dial, TLS and response-header timeouts,
// no overall timeout, which would cut long streams).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithLogger sets where retries and fallbacks are logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// New builds a Client. A configuration with no provider gives a Client whose calls answer
// ErrNotConfigured; a wrong one is an error naming the variable.
func New(cfg Config, opts ...Option) (*Client, error) {
	providers, err := cfg.Providers()
	if err != nil {
		return nil, err
	}
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.httpClient == nil {
		o.httpClient = defaultHTTPClient(cfg.FirstTokenTimeout)
	}
	c := &Client{
		maxRetries:        cfg.MaxRetries,
		retryDelay:        cfg.RetryDelay,
		firstTokenTimeout: cfg.FirstTokenTimeout,
		logger:            o.logger,
	}
	for _, p := range providers {
		oc := openai.DefaultConfig(p.APIKey)
		oc.BaseURL = p.BaseURL
		oc.HTTPClient = &doer{next: o.httpClient}
		// Keep-alive comments during long reasoning (OpenRouter) count as empty messages.
		oc.EmptyMessagesLimit = 10000
		c.backends = append(c.backends, backend{Provider: p, api: openai.NewClientWithConfig(oc)})
	}
	return c, nil
}

func defaultHTTPClient(headerTimeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = headerTimeout
	return &http.Client{Transport: t}
}

// Configured reports whether a model is configured; when false every call answers
// ErrNotConfigured.
func (c *Client) Configured() bool { return len(c.backends) > 0 }

// Providers lists the providers in the order they are tried (for startup logs).
func (c *Client) Providers() []Provider {
	out := make([]Provider, len(c.backends))
	for i, b := range c.backends {
		out[i] = b.Provider
	}
	return out
}

// Stream runs one streamed model call. onText receives each text delta as it arrives (never
// leading whitespace); returning an error from it aborts the call with that error. The
// returned Turn holds the full text, the tool calls and the rest. Cancelling ctx cancels the
// HTTP request.
//
// Failures before the first token (429, 5xx, connection errors, no first token within
// FirstTokenTimeout) are retried with exponential backoff and jitter, then passed to the
// fallback provider; they end as an error wrapping ErrUnavailable. A failure after the first
// token is never retried: it wraps ErrInterrupted and comes with the partial Turn.
func (c *Client) Stream(ctx context.Context, req Request, onText func(delta string) error) (Turn, error) {
	return c.run(ctx, func(ctx context.Context, b *backend) (Turn, bool, error) {
		return c.streamOnce(ctx, b, req, onText)
	})
}

// Complete runs one non-streamed model call (titles and other short answers), with the same
// retries and fallback as Stream.
func (c *Client) Complete(ctx context.Context, req Request) (Turn, error) {
	return c.run(ctx, func(ctx context.Context, b *backend) (Turn, bool, error) {
		t, err := c.completeOnce(ctx, b, req)
		return t, false, err
	})
}

// attemptFunc makes one HTTP attempt; output reports whether anything reached the caller.
type attemptFunc func(ctx context.Context, b *backend) (t Turn, output bool, err error)

func (c *Client) run(ctx context.Context, attempt attemptFunc) (Turn, error) {
	if !c.Configured() {
		return Turn{}, ErrNotConfigured
	}
	var failures []error
	attempts := 0
	for i := range c.backends {
		b := &c.backends[i]
		if i > 0 {
			c.logger.WarnContext(ctx, "falling back to another model", "provider", b.String())
		}
		for try := 0; try <= c.maxRetries; try++ {
			if try > 0 {
				if err := sleep(ctx, c.backoff(try)); err != nil {
					return Turn{Attempts: attempts}, err
				}
			}
			attempts++
			t, output, err := attempt(ctx, b)
			t.Attempts, t.Provider, t.Model = attempts, b.Kind, b.Model
			switch {
			case err == nil:
				return t, nil
			case ctx.Err() != nil:
				return t, fmt.Errorf("model call to %s: %w", b, context.Cause(ctx))
			case output:
				return t, fmt.Errorf("%w: %s: %w", ErrInterrupted, b, err)
			case !retryable(err):
				return t, fmt.Errorf("model call to %s: %w", b, err)
			}
			c.logger.WarnContext(ctx, "model call failed before its first token", "provider", b.String(), "attempt", try+1, "error", err)
			if try == c.maxRetries {
				failures = append(failures, fmt.Errorf("%s: %w", b, err))
			}
		}
	}
	return Turn{Attempts: attempts}, fmt.Errorf("%w (%d attempts): %w", ErrUnavailable, attempts, errors.Join(failures...))
}

// backoff is the delay before retry number try (1-based): RetryDelay doubled per retry, capped,
// with "equal jitter" (half fixed, half random) so that many clients do not retry in step.
func (c *Client) backoff(try int) time.Duration {
	if c.retryDelay <= 0 {
		return 0
	}
	d := c.retryDelay << min(try-1, 30)
	if d > maxRetryDelay || d <= 0 {
		d = maxRetryDelay
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// retryable says whether a failure before the first token is worth another attempt: rate
// limits, server errors, errors reported inside a 200 stream, network failures and the
// first-token timeout. Client errors (400, 401, 404…) are not.
func retryable(err error) bool {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode == 0 || retryableStatus(apiErr.HTTPStatusCode)
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return retryableStatus(reqErr.HTTPStatusCode)
	}
	var netErr net.Error
	var urlErr *url.Error
	var decodeErr *chunkError
	return errors.Is(err, errFirstTokenTimeout) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &netErr) || errors.As(err, &urlErr) || errors.As(err, &decodeErr)
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// chunkError is a stream chunk we could not decode: a provider glitch, retried like one.
type chunkError struct{ err error }

func (e *chunkError) Error() string { return e.err.Error() }
func (e *chunkError) Unwrap() error { return e.err }

// withFirstTokenTimeout derives the context of one attempt; stop must be called when the
// first token arrives and reports false if the limit had already passed.
func (c *Client) withFirstTokenTimeout(ctx context.Context) (actx context.Context, stop func() bool, cancel func()) {
	actx, cancelCause := context.WithCancelCause(ctx)
	if c.firstTokenTimeout <= 0 {
		return actx, func() bool { return true }, func() { cancelCause(nil) }
	}
	timer := time.AfterFunc(c.firstTokenTimeout, func() { cancelCause(errFirstTokenTimeout) })
	return actx, timer.Stop, func() { timer.Stop(); cancelCause(nil) }
}

// attemptErr turns the error of an attempt whose context ended because of the first-token
// limit into errFirstTokenTimeout (a bare "context canceled" would not be retried).
func attemptErr(actx context.Context, err error) error {
	if errors.Is(context.Cause(actx), errFirstTokenTimeout) {
		return fmt.Errorf("%w: %w", errFirstTokenTimeout, err)
	}
	return err
}

func (c *Client) streamOnce(ctx context.Context, b *backend, req Request, onText func(string) error) (Turn, bool, error) {
	actx, stop, cancel := c.withFirstTokenTimeout(ctx)
	defer cancel()
	oreq := b.request(req)
	if b.Kind != KindGemini { // Gemini reports usage anyway; keep unknown fields away from it
		oreq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	start := time.Now()
	stream, err := b.api.CreateChatCompletionStream(withExtras(actx, b, req.Messages), oreq)
	if err != nil {
		return Turn{}, false, attemptErr(actx, err)
	}
	defer stream.Close()
	var acc Accumulator
	var ttft time.Duration
	output := false
	for {
		raw, err := stream.RecvRaw()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return acc.Turn(), output, attemptErr(actx, err)
		}
		text, out, err := acc.Add(raw)
		if err != nil {
			return acc.Turn(), output, &chunkError{err}
		}
		if out && !output {
			if !stop() {
				return acc.Turn(), false, errFirstTokenTimeout
			}
			output, ttft = true, time.Since(start)
		}
		if text != "" && onText != nil {
			if err := onText(text); err != nil {
				return acc.Turn(), true, fmt.Errorf("deliver text: %w", err)
			}
		}
	}
	t := acc.Turn()
	t.TimeToFirstToken = ttft
	return t, output, nil
}

func (c *Client) completeOnce(ctx context.Context, b *backend, req Request) (Turn, error) {
	actx, _, cancel := c.withFirstTokenTimeout(ctx)
	defer cancel()
	resp, err := b.api.CreateChatCompletion(withExtras(actx, b, req.Messages), b.request(req))
	if err != nil {
		return Turn{}, attemptErr(actx, err)
	}
	t := Turn{}
	if resp.Usage.TotalTokens > 0 {
		t.Usage = &Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens, TotalTokens: resp.Usage.TotalTokens}
	}
	if len(resp.Choices) == 0 {
		return t, nil
	}
	m := resp.Choices[0].Message
	t.FinishReason = string(resp.Choices[0].FinishReason)
	t.Text = trimLeftSpace(m.Content)
	for _, tc := range m.ToolCalls {
		id := tc.ID
		if id == "" {
			id = NewCallID()
		}
		t.ToolCalls = append(t.ToolCalls, ToolCall{ID: id, Name: tc.Function.Name, Arguments: or(tc.Function.Arguments, "{}")})
	}
	return t, nil
}

// request builds the go-openai request. Temperature and parallel_tool_calls are left unset:
// reasoning models reject sampling parameters, and not every server takes the field.
func (b *backend) request(req Request) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:               b.Model,
		Messages:            toOpenAI(req.Messages),
		Tools:               b.toolsFor(req.Tools),
		MaxCompletionTokens: req.MaxTokens,
	}
}
