package llm_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/taskwire/taskwire/chatproxy/llm"
)

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
	t.Setenv("LLM_MODEL", "qwen3:8b")
	t.Setenv("LLM_FIRST_TOKEN_TIMEOUT", "5s")
	cfg, err := llm.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL != "http://localhost:11434/v1" || cfg.Model != "qwen3:8b" || cfg.FirstTokenTimeout.Seconds() != 5 || cfg.MaxRetries != 2 {
		t.Errorf("cfg = %+v", cfg)
	}
	t.Setenv("LLM_MAX_RETRIES", "many")
	if _, err := llm.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "LLM_MAX_RETRIES") {
		t.Errorf("err = %v, want one naming LLM_MAX_RETRIES", err)
	}
}

func TestProviders(t *testing.T) {
	openAI := llm.Provider{Kind: llm.KindOpenAI, BaseURL: llm.OpenAIBaseURL, APIKey: "sk", Model: llm.DefaultOpenAIModel}
	gemini := llm.Provider{Kind: llm.KindGemini, BaseURL: llm.GeminiBaseURL, APIKey: "g", Model: llm.DefaultGeminiModel}
	tests := []struct {
		name    string
		cfg     llm.Config
		want    []llm.Provider
		wantErr string // a variable the error must name
	}{
		{name: "nothing", cfg: llm.Config{}, want: nil},
		{name: "openai", cfg: llm.Config{OpenAIAPIKey: "sk"}, want: []llm.Provider{openAI}},
		{name: "openai with model", cfg: llm.Config{OpenAIAPIKey: "sk", Model: "gpt-4.1-mini"},
			want: []llm.Provider{{Kind: llm.KindOpenAI, BaseURL: llm.OpenAIBaseURL, APIKey: "sk", Model: "gpt-4.1-mini"}}},
		{name: "gemini", cfg: llm.Config{GeminiAPIKey: "g"}, want: []llm.Provider{gemini}},
		{name: "both keys: gemini is the fallback", cfg: llm.Config{OpenAIAPIKey: "sk", GeminiAPIKey: "g"}, want: []llm.Provider{openAI, gemini}},
		{name: "ollama", cfg: llm.Config{BaseURL: "http://localhost:11434/v1", Model: "llama3.2"},
			want: []llm.Provider{{Kind: llm.KindCompatible, BaseURL: "http://localhost:11434/v1", Model: "llama3.2"}}},
		{name: "base URL without model", cfg: llm.Config{BaseURL: "http://localhost:4000"}, wantErr: "LLM_MODEL"},
		{name: "bad base URL", cfg: llm.Config{BaseURL: "localhost:11434", Model: "m"}, wantErr: "OPENAI_BASE_URL"},
		{name: "fallback model on the same endpoint", cfg: llm.Config{OpenAIAPIKey: "sk", FallbackModel: "gpt-4.1-mini"},
			want: []llm.Provider{openAI, {Kind: llm.KindOpenAI, BaseURL: llm.OpenAIBaseURL, APIKey: "sk", Model: "gpt-4.1-mini"}}},
		{name: "fallback to gemini by URL takes GEMINI_API_KEY", cfg: llm.Config{BaseURL: "http://vllm:8000/v1", Model: "m", GeminiAPIKey: "g", FallbackBaseURL: llm.GeminiBaseURL},
			want: []llm.Provider{{Kind: llm.KindCompatible, BaseURL: "http://vllm:8000/v1", Model: "m"}, gemini}},
		{name: "explicit fallback replaces the implicit one", cfg: llm.Config{OpenAIAPIKey: "sk", GeminiAPIKey: "g", FallbackBaseURL: "https://openrouter.ai/api/v1", FallbackAPIKey: "or", FallbackModel: "openai/gpt-4.1-mini"},
			want: []llm.Provider{openAI, {Kind: llm.KindCompatible, BaseURL: "https://openrouter.ai/api/v1", APIKey: "or", Model: "openai/gpt-4.1-mini"}}},
		{name: "fallback URL without model", cfg: llm.Config{OpenAIAPIKey: "sk", FallbackBaseURL: "http://localhost:11434/v1"}, wantErr: "LLM_FALLBACK_MODEL"},
		{name: "fallback key alone", cfg: llm.Config{OpenAIAPIKey: "sk", FallbackAPIKey: "x"}, wantErr: "LLM_FALLBACK_API_KEY"},
		{name: "negative retries", cfg: llm.Config{OpenAIAPIKey: "sk", MaxRetries: -1}, wantErr: "LLM_MAX_RETRIES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Providers()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("providers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProviderStringHidesKey(t *testing.T) {
	p := llm.Provider{BaseURL: "https://api.openai.com/v1", APIKey: "sk-secret", Model: "m"}
	if s := p.String(); strings.Contains(s, "sk-secret") || s != "m at api.openai.com" {
		t.Errorf("String() = %q", s)
	}
}
