package llm

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/taskwire/taskwire/internal/envconf"
)

// Endpoints and default models of the providers we know by name.
const (
	OpenAIBaseURL = "https://api.openai.com/v1"
	GeminiBaseURL = "https://generativelanguage.googleapis.com/v1beta/openai/"
	// DefaultOpenAIModel is a current small OpenAI model that calls tools over Chat Completions.
	DefaultOpenAIModel = openai.GPT5Dot4Mini
	// DefaultGeminiModel is Gemini's current stable Flash model.
	DefaultGeminiModel = "gemini-3.8-flash"
)

// Provider kinds: they decide the provider-specific request shaping (see Client).
const (
	KindOpenAI     = "openai"
	KindGemini     = "gemini"
	KindCompatible = "compatible"
)

// ErrNotConfigured is what a turn answers when no model is configured. The proxy still starts
// without one (so the rest of it can be used and its health checked); the message names the
// variables to set.
var ErrNotConfigured = errors.New("no language model is configured: set OPENAI_API_KEY, " +
	"GEMINI_API_KEY, or OPENAI_BASE_URL with LLM_MODEL (see docs/llm.md)")

// Config is the model configuration, read from the environment (the names in the env tags;
// docs/llm.md explains them). It can be embedded in a service's own env config struct.
type Config struct {
	OpenAIAPIKey string `env:"OPENAI_API_KEY"`
	GeminiAPIKey string `env:"GEMINI_API_KEY"`
	// BaseURL points at any OpenAI-compatible server (Ollama, vLLM, LiteLLM, OpenRouter);
	// it takes precedence over the two keys, and OPENAI_API_KEY becomes its (optional) key.
	BaseURL string `env:"OPENAI_BASE_URL"`
	Model   string `env:"LLM_MODEL"`

	// The fallback is used when the primary keeps answering 429/5xx, cannot be reached, or
	// sends nothing within FirstTokenTimeout. Unset base URL: the primary's endpoint.
	FallbackBaseURL string `env:"LLM_FALLBACK_BASE_URL"`
	FallbackAPIKey  string `env:"LLM_FALLBACK_API_KEY"`
	FallbackModel   string `env:"LLM_FALLBACK_MODEL"`

	// MaxRetries is how many times a provider is retried before its first token (0: never).
	MaxRetries int `env:"LLM_MAX_RETRIES" envDefault:"2"`
	// RetryDelay is the first backoff; it doubles per retry, with jitter, up to 8 s.
	RetryDelay time.Duration `env:"LLM_RETRY_DELAY" envDefault:"500ms"`
	// FirstTokenTimeout bounds the wait for the first text or tool-call fragment (0: none).
	FirstTokenTimeout time.Duration `env:"LLM_FIRST_TOKEN_TIMEOUT" envDefault:"60s"`
}

// ConfigFromEnv reads Config from the process environment.
func ConfigFromEnv() (Config, error) {
	c, err := envconf.Parse[Config](os.Environ())
	if err != nil {
		return Config{}, fmt.Errorf("read model configuration: %w", err)
	}
	return c, nil
}

// Provider is one model endpoint.
type Provider struct {
	Kind    string // KindOpenAI, KindGemini or KindCompatible
	BaseURL string
	APIKey  string // may be empty for local servers; never logged
	Model   string
}

// String names the provider for logs and errors, without its key.
func (p Provider) String() string {
	host := p.BaseURL
	if u, err := url.Parse(p.BaseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	return p.Model + " at " + host
}

// Providers resolves the configuration into the primary provider and, if configured, the
// fallback. No providers and no error means "no model configured" (ErrNotConfigured at turn
// time). Errors name the variable to fix.
func (c Config) Providers() ([]Provider, error) {
	if err := c.validateNumbers(); err != nil {
		return nil, err
	}
	var primary, implicitFallback *Provider
	switch {
	case c.BaseURL != "":
		p, err := endpoint("OPENAI_BASE_URL", c.BaseURL, "LLM_MODEL", c.Model, c.OpenAIAPIKey)
		if err != nil {
			return nil, err
		}
		primary = &p
	case c.OpenAIAPIKey != "":
		primary = &Provider{Kind: KindOpenAI, BaseURL: OpenAIBaseURL, APIKey: c.OpenAIAPIKey, Model: or(c.Model, DefaultOpenAIModel)}
		if c.GeminiAPIKey != "" {
			implicitFallback = &Provider{Kind: KindGemini, BaseURL: GeminiBaseURL, APIKey: c.GeminiAPIKey, Model: DefaultGeminiModel}
		}
	case c.GeminiAPIKey != "":
		primary = &Provider{Kind: KindGemini, BaseURL: GeminiBaseURL, APIKey: c.GeminiAPIKey, Model: or(c.Model, DefaultGeminiModel)}
	}
	fallback, err := c.fallback(primary)
	if err != nil {
		return nil, err
	}
	if fallback == nil {
		fallback = implicitFallback
	}
	switch {
	case primary == nil:
		return nil, nil
	case fallback == nil:
		return []Provider{*primary}, nil
	}
	return []Provider{*primary, *fallback}, nil
}

func (c Config) validateNumbers() error {
	switch {
	case c.MaxRetries < 0 || c.MaxRetries > 10:
		return fmt.Errorf("LLM_MAX_RETRIES must be between 0 and 10, not %d", c.MaxRetries)
	case c.RetryDelay < 0:
		return fmt.Errorf("LLM_RETRY_DELAY must not be negative, not %s", c.RetryDelay)
	case c.FirstTokenTimeout < 0:
		return fmt.Errorf("LLM_FIRST_TOKEN_TIMEOUT must not be negative, not %s", c.FirstTokenTimeout)
	}
	return nil
}

// fallback resolves LLM_FALLBACK_*: a base URL of a known provider brings its default model and
// its key variable; no base URL means the primary's endpoint with another model.
func (c Config) fallback(primary *Provider) (*Provider, error) {
	if c.FallbackBaseURL == "" && c.FallbackModel == "" {
		if c.FallbackAPIKey != "" {
			return nil, errors.New("LLM_FALLBACK_API_KEY is set but neither LLM_FALLBACK_BASE_URL nor LLM_FALLBACK_MODEL is")
		}
		return nil, nil
	}
	if c.FallbackBaseURL == "" {
		if primary == nil {
			return nil, errors.New("LLM_FALLBACK_MODEL is set without a primary model or LLM_FALLBACK_BASE_URL")
		}
		return &Provider{Kind: primary.Kind, BaseURL: primary.BaseURL, APIKey: or(c.FallbackAPIKey, primary.APIKey), Model: c.FallbackModel}, nil
	}
	p, err := endpoint("LLM_FALLBACK_BASE_URL", c.FallbackBaseURL, "LLM_FALLBACK_MODEL", c.FallbackModel, c.FallbackAPIKey)
	if err != nil {
		return nil, err
	}
	if p.APIKey == "" {
		switch p.Kind {
		case KindOpenAI:
			p.APIKey = c.OpenAIAPIKey
		case KindGemini:
			p.APIKey = c.GeminiAPIKey
		}
	}
	return &p, nil
}

// endpoint is a provider at a configured URL; the model defaults only for OpenAI's and
// Gemini's own endpoints. The variable names go into the errors.
func endpoint(urlVar, baseURL, modelVar, model, key string) (Provider, error) {
	if err := checkURL(urlVar, baseURL); err != nil {
		return Provider{}, err
	}
	p := Provider{Kind: kindOf(baseURL), BaseURL: baseURL, APIKey: key, Model: or(model, defaultModel(kindOf(baseURL)))}
	if p.Model == "" {
		return Provider{}, fmt.Errorf("%s is set but %s is not: name the model to use on that server", urlVar, modelVar)
	}
	return p, nil
}

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s must be an http(s) URL such as http://localhost:11434/v1, not %q", name, raw)
	}
	return nil
}

// kindOf recognises the two providers whose quirks we shape requests for by their host.
func kindOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return KindCompatible
	}
	switch strings.ToLower(u.Hostname()) {
	case "api.openai.com":
		return KindOpenAI
	case "generativelanguage.googleapis.com":
		return KindGemini
	}
	return KindCompatible
}

func defaultModel(kind string) string {
	switch kind {
	case KindOpenAI:
		return DefaultOpenAIModel
	case KindGemini:
		return DefaultGeminiModel
	}
	return ""
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
