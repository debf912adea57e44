package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// minNodeMajor is the oldest Node the auth service runs on (better-auth needs 20).
const minNodeMajor = 20

// fallbackNode is the npm package devrun installs when the system has no suitable Node: the
// registry's `node` package ships the official binary, so only npm is needed.
const fallbackNode = "node@22"

// findNode returns a Node binary of at least minNodeMajor: the system's, or one installed from
// the npm registry into dataDir/node on first use (as scripts/e2e/lib.sh does for the tests).
func findNode(ctx context.Context, dataDir string, out io.Writer) (string, error) {
	if p, err := exec.LookPath("node"); err == nil && nodeMajor(ctx, p) >= minNodeMajor {
		return p, nil
	}
	local := filepath.Join(dataDir, "node", "node_modules", "node", "bin", "node")
	if nodeMajor(ctx, local) >= minNodeMajor {
		return local, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("the auth service needs Node.js >= %d (or npm, to fetch it); install nodejs and npm, or run with -auth=false", minNodeMajor)
	}
	fmt.Fprintf(out, "installing %s from the npm registry into %s (the system has no Node >= %d)\n", fallbackNode, filepath.Dir(filepath.Dir(local)), minNodeMajor)
	if err := runCommand(ctx, out, nil, "npm", "install", "--prefix", filepath.Join(dataDir, "node"), "--no-audit", "--no-fund", "--loglevel=error", fallbackNode); err != nil {
		return "", fmt.Errorf("install Node for the auth service: %w", err)
	}
	if nodeMajor(ctx, local) < minNodeMajor {
		return "", fmt.Errorf("%s from npm did not give a working Node >= %d", fallbackNode, minNodeMajor)
	}
	return local, nil
}

// nodeMajor is the major version of the Node at path, or 0 when it does not run.
func nodeMajor(ctx context.Context, path string) int {
	b, err := exec.CommandContext(ctx, path, "-p", "process.versions.node").Output()
	if err != nil {
		return 0
	}
	major, _, _ := strings.Cut(strings.TrimSpace(string(b)), ".")
	n, _ := strconv.Atoi(major)
	return n
}

// npmCI installs dir's locked npm dependencies (`npm ci`) unless node_modules already holds
// exactly that lockfile's install, which a copy of the lockfile inside node_modules records.
func npmCI(ctx context.Context, node, dir string, out io.Writer) error {
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("read the auth service's lockfile: %w", err)
	}
	stamp := filepath.Join(dir, "node_modules", ".taskwire-lock.json")
	if done, err := os.ReadFile(stamp); err == nil && bytes.Equal(done, lock) {
		return nil
	}
	fmt.Fprintln(out, "installing the auth service's npm packages (npm ci, first run only)")
	// The npm next to the chosen node, so an npm-installed Node uses its own npm when present.
	npm := filepath.Join(filepath.Dir(node), "npm")
	if _, err := os.Stat(npm); err != nil {
		npm = "npm"
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Env = withEnv(os.Environ(), "PATH="+filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %w", dir, err)
	}
	return os.WriteFile(stamp, lock, 0o644)
}
