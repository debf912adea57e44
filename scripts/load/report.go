package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"
)

// report holds what a run measured. Each worker fills its own; load merges them.
type report struct {
	elapsed  time.Duration
	latency  map[string][]time.Duration // per tool, errors included
	failures map[string]int             // per kind
	example  map[string]string          // first message of each kind
}

func newReport() *report {
	return &report{latency: map[string][]time.Duration{}, failures: map[string]int{}, example: map[string]string{}}
}

func (r *report) fail(kind, msg string) {
	if r.failures[kind] == 0 {
		r.example[kind] = msg
	}
	r.failures[kind]++
}

func (r *report) merge(o *report) {
	for tool, d := range o.latency {
		r.latency[tool] = append(r.latency[tool], d...)
	}
	for kind, n := range o.failures {
		if r.failures[kind] == 0 {
			r.example[kind] = o.example[kind]
		}
		r.failures[kind] += n
	}
}

func (r *report) requests() int {
	n := 0
	for _, d := range r.latency {
		n += len(d)
	}
	return n
}

func (r *report) errors() int {
	n := 0
	for _, c := range r.failures {
		n += c
	}
	return n
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func (r *report) write(w io.Writer, c config) {
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "target %s · %d users · concurrency %d · %.1fs\n", c.url, c.users, c.concurrency, secs)
	fmt.Fprintf(w, "requests %d · errors %d · throughput %.1f req/s\n\n", r.requests(), r.errors(), float64(r.requests())/secs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tcount\treq/s\tp50\tp90\tp99\tmax\t")
	var all []time.Duration
	for _, tool := range slices.Sorted(maps.Keys(r.latency)) {
		d := r.latency[tool]
		slices.Sort(d)
		all = append(all, d...)
		writeRow(tw, tool, d, secs)
	}
	slices.Sort(all)
	writeRow(tw, "all", all, secs)
	_ = tw.Flush()
	for _, kind := range slices.Sorted(maps.Keys(r.failures)) {
		fmt.Fprintf(w, "error %s ×%d, e.g. %s\n", kind, r.failures[kind], r.example[kind])
	}
}

func writeRow(w io.Writer, name string, sorted []time.Duration, secs float64) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t\n", name, len(sorted), float64(len(sorted))/secs,
		ms(percentile(sorted, .50)), ms(percentile(sorted, .90)), ms(percentile(sorted, .99)), ms(percentile(sorted, 1)))
}
