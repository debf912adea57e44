// Command vulngate reads `govulncheck -format json` on stdin, prints each vulnerability that
// the code calls, and exits 1 when one of them is in a required module and has a fixed
// version: that is fixable by upgrading the module, so lint fails until it is done.
//
// Findings in the standard library and findings without any fix are printed but do not fail:
// the Go toolchain is the one the machine has (CI cannot download another), and there is
// nothing to upgrade to for the rest. They are listed so that a person decides.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

type message struct {
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

type finding struct{ id, module, version, fixed string }

func main() {
	blocking, err := run(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulngate:", err)
		os.Exit(2)
	}
	if blocking > 0 {
		fmt.Printf("vulngate: %d called vulnerabilities have a fix: upgrade those modules\n", blocking)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) (blocking int, err error) {
	dec := json.NewDecoder(in)
	summaries := map[string]string{}
	called := map[string]finding{}
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, fmt.Errorf("read govulncheck output: %w", err)
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			t := f.Trace[0]
			called[f.OSV] = finding{f.OSV, t.Module, t.Version, f.FixedVersion}
		}
	}
	ids := make([]string, 0, len(called))
	for id := range called {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := called[id]
		verdict := "reported"
		if f.module != "stdlib" && f.fixed != "" {
			verdict, blocking = "FAILS LINT", blocking+1
		}
		fixed := f.fixed
		if fixed == "" {
			fixed = "no fix yet"
		}
		fmt.Fprintf(out, "%s  %s@%s (fixed: %s) %s — %s\n", verdict, f.module, f.version, fixed, id, summaries[id])
	}
	fmt.Fprintf(out, "vulngate: %d vulnerabilities called, %d fixable by a module upgrade\n", len(called), blocking)
	return blocking, nil
}
