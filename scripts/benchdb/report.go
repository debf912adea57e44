package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// point is one measurement: a rate (transactions or tool calls per second) and latencies.
type point struct {
	rate     float64
	p50, p99 time.Duration
	n        int
	cpu      cpuUse // CPU time spent during the point, by part
}

// perCall is the point's CPU time per transaction or call.
func (p point) perCall() cpuUse {
	if p.n == 0 {
		return cpuUse{}
	}
	n := time.Duration(p.n)
	return cpuUse{p.cpu.postgres / n, p.cpu.driver / n, p.cpu.client / n}
}

// newPoint summarises latencies taken over elapsed (zero: the caller sets the rate).
func newPoint(lat []time.Duration, elapsed time.Duration) point {
	slices.Sort(lat)
	p := point{n: len(lat), p50: percentile(lat, 50), p99: percentile(lat, 99)}
	if elapsed > 0 {
		p.rate = float64(len(lat)) / elapsed.Seconds()
	}
	return p
}

// percentile is the nearest-rank percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median of a field over the repetitions (the mean of the middle two for an even count).
func median(ps []point, f func(point) float64) float64 {
	v := make([]float64, len(ps))
	for i, p := range ps {
		v[i] = f(p)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// row is one workload at one concurrency: the repetitions of both sides.
type row struct {
	workload    string
	concurrency int
	ceiling     []point
	server      []point
}

func (r row) summary() (ceil, srv point, share float64) {
	sum := func(ps []point) point {
		return point{
			rate: median(ps, func(p point) float64 { return p.rate }),
			p50:  time.Duration(median(ps, func(p point) float64 { return float64(p.p50) })),
			p99:  time.Duration(median(ps, func(p point) float64 { return float64(p.p99) })),
		}
	}
	ceil, srv = sum(r.ceiling), sum(r.server)
	if ceil.rate > 0 {
		share = srv.rate / ceil.rate
	}
	return ceil, srv, share
}

// writeTable prints the results as a Markdown table.
func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| workload | concurrency | pgbench tps | pgbench p50 / p99 | mcpserver calls/s | mcpserver p50 / p99 | share of the ceiling |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		c, s, share := r.summary()
		fmt.Fprintf(w, "| %s | %d | %s | %s / %s | %s | %s / %s | **%.2f** |\n", r.workload, r.concurrency,
			thousands(c.rate), ms(c.p50), ms(c.p99), thousands(s.rate), ms(s.p50), ms(s.p99), share)
	}
}

// writeCPUTable prints the CPU time per transaction and per call: unlike the rates, it
// hardly depends on what else the machine runs.
func writeCPUTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| workload | concurrency | CPU per pgbench transaction: PostgreSQL + pgbench | CPU per tool call: PostgreSQL + mcpserver + load client | share of the ceiling by CPU |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, r := range rows {
		c, s := medianCPU(r.ceiling), medianCPU(r.server)
		share := 0.0
		if s.total() > 0 {
			share = float64(c.total()) / float64(s.total())
		}
		fmt.Fprintf(w, "| %s | %d | %s + %s = %s | %s + %s + %s = %s | **%.2f** |\n", r.workload, r.concurrency,
			us(c.postgres), us(c.driver), us(c.total()), us(s.postgres), us(s.driver), us(s.client), us(s.total()), share)
	}
}

func medianCPU(ps []point) cpuUse {
	part := func(f func(cpuUse) time.Duration) time.Duration {
		return time.Duration(median(ps, func(p point) float64 { return float64(f(p.perCall())) }))
	}
	return cpuUse{
		postgres: part(func(c cpuUse) time.Duration { return c.postgres }),
		driver:   part(func(c cpuUse) time.Duration { return c.driver }),
		client:   part(func(c cpuUse) time.Duration { return c.client }),
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// thousands formats a rate as a whole number with thin separators: 12,048.
func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
