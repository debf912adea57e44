package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	osv := `{"osv":{"id":"GO-1","summary":"bad thing"}}`
	tests := []struct {
		name     string
		in       string
		blocking int
		want     string
	}{
		{"nothing found", `{"config":{}}`, 0, "0 vulnerabilities called"},
		{"called, module, fixed: fails", osv + `{"finding":{"osv":"GO-1","fixed_version":"v1.2.3","trace":[{"module":"example.com/m","version":"v1.0.0","function":"F"}]}}`, 1, "FAILS LINT  example.com/m@v1.0.0 (fixed: v1.2.3) GO-1 — bad thing"},
		{"called, module, no fix: reported", osv + `{"finding":{"osv":"GO-1","trace":[{"module":"example.com/m","version":"v1.0.0","function":"F"}]}}`, 0, "reported  example.com/m@v1.0.0 (fixed: no fix yet)"},
		{"called, stdlib: reported", osv + `{"finding":{"osv":"GO-1","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","function":"F"}]}}`, 0, "reported  stdlib@v1.26.8"},
		{"imported, not called: ignored", osv + `{"finding":{"osv":"GO-1","fixed_version":"v1.2.3","trace":[{"module":"example.com/m","version":"v1.0.0","package":"p"}]}}`, 0, "0 vulnerabilities called"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			blocking, err := run(strings.NewReader(tt.in), &out)
			if err != nil {
				t.Fatal(err)
			}
			if blocking != tt.blocking || !strings.Contains(out.String(), tt.want) {
				t.Errorf("blocking %d, output:\n%s\nwant %d and %q", blocking, out.String(), tt.blocking, tt.want)
			}
		})
	}
	if _, err := run(strings.NewReader("{not json"), &bytes.Buffer{}); err == nil {
		t.Error("garbage input was accepted")
	}
}
