package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

// fakeModel is the model name chatproxy is configured with under -fake-llm.
const fakeModel = "fake-model"

// startFakeLLM serves the rule-based fake model of chatproxy/llm/llmtest ("add a task to buy
// milk" → add_task{title:"buy milk"}) on a loopback port, for the browser test and offline
// demos, and returns its base URL for OPENAI_BASE_URL.
func startFakeLLM() (baseURL string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the fake LLM: %w", err)
	}
	srv := &http.Server{Handler: llmtest.NewRules(llmtest.OpenAI), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("[fake-llm]", err)
		}
	}()
	return "http://" + l.Addr().String() + "/v1", func() { _ = srv.Close() }, nil
}
