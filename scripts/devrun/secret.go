package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// loadOrCreateSecret returns the dev BETTER_AUTH_SECRET kept in path, creating it (32 random
// bytes, hex, mode 0600) on first use. Keeping it means tokens pasted into Claude Desktop keep
// working across runs.
func loadOrCreateSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return "", fmt.Errorf("%s holds a secret shorter than 32 characters; delete it to get a new one", path)
		}
		return s, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("read dev secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate dev secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	// O_EXCL: two runs starting at once must not write two different secrets.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateSecret(path)
	}
	if err != nil {
		return "", fmt.Errorf("create dev secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write dev secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write dev secret: %w", err)
	}
	return s, nil
}
