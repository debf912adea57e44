package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestFileName(t *testing.T) {
	tests := []struct{ apiVersion, kind, want string }{
		{"v1", "Service", "service-v1.json"},
		{"apps/v1", "Deployment", "deployment-apps-v1.json"},
		{"autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscaler-autoscaling-v2.json"},
		{"networking.k8s.io/v1", "NetworkPolicy", "networkpolicy-networking-v1.json"},
	}
	for _, tt := range tests {
		if got := fileName(tt.apiVersion, tt.kind); got != tt.want {
			t.Errorf("fileName(%q, %q) = %q, want %q", tt.apiVersion, tt.kind, got, tt.want)
		}
	}
}

// TestWrite checks the shape kubeconform -strict relies on: objects closed to unknown
// fields, the special encodings, and apiVersion/kind pinned.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "deployment-apps-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		AdditionalProperties bool `json:"additionalProperties"`
		Properties           map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.AdditionalProperties {
		t.Error("the Deployment allows unknown fields")
	}
	if got := s.Properties["kind"].Enum; len(got) != 1 || got[0] != "Deployment" {
		t.Errorf("kind enum = %v", got)
	}
	probe := s.Definitions["k8s.io.api.core.v1.HTTPGetAction"]
	port, _ := probe["properties"].(map[string]any)["port"].(map[string]any)
	if _, ok := port["anyOf"]; !ok {
		t.Errorf("an int-or-string port is %v, want string or integer", port)
	}
	if probe["additionalProperties"] != false {
		t.Error("nested objects allow unknown fields")
	}
}
