package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestNodeMajor(t *testing.T) {
	dir := t.TempDir()
	fake := func(name, script string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		path string
		want int
	}{
		{fake("node22", "echo 22.23.3"), 22},
		{fake("node18", "echo 18.19.1"), 18},
		{fake("broken", "exit 1"), 0},
		{fake("garbage", "echo hello"), 0},
		{filepath.Join(dir, "missing"), 0},
	}
	for _, tc := range tests {
		if got := nodeMajor(context.Background(), tc.path); got != tc.want {
			t.Errorf("nodeMajor(%s) = %d, want %d", filepath.Base(tc.path), got, tc.want)
		}
	}
}

// npmCI must not touch the network when node_modules already holds the lockfile's install.
func TestNpmCISkipsAnUnchangedLockfile(t *testing.T) {
	dir := t.TempDir()
	lock := []byte(`{"lockfileVersion":3}`)
	if err := os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"package-lock.json", "node_modules/.taskwire-lock.json"} {
		if err := os.WriteFile(filepath.Join(dir, p), lock, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A node path whose npm cannot exist: running npm would fail the test.
	if err := npmCI(context.Background(), "/nonexistent/bin/node", dir, io.Discard); err != nil {
		t.Fatalf("npmCI with an unchanged lockfile: %v", err)
	}
	if err := npmCI(context.Background(), "/nonexistent/bin/node", t.TempDir(), io.Discard); err == nil {
		t.Fatal("npmCI without a lockfile succeeded")
	}
}
