package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// callTimeout ends a stuck call (and with it the point) instead of hanging the run.
const callTimeout = 10 * time.Second

// requests are the ready-made HTTP requests of one workload, one per simulated user: the
// same tools/call body, each with its user's own token.
type requests [][]byte

// newRequests builds one tools/call request per token. The server is stateless, so a bare
// tools/call with no initialize first is a complete MCP exchange.
func newRequests(host string, tokens []string, tool, args string) requests {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, tool, args)
	out := make(requests, len(tokens))
	for i, tok := range tokens {
		out[i] = []byte("POST /mcp HTTP/1.1\r\nHost: " + host +
			"\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream" +
			"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	return out
}

// conn is one keep-alive HTTP/1.1 connection of the load client. It writes prepared requests
// and reads each response with a minimal parser (status line, the framing headers, the
// body): a client this thin leaves the two shared cores to the server, as pgbench (in C)
// does for PostgreSQL.
type conn struct {
	addr string
	nc   net.Conn
	br   *bufio.Reader
	body bytes.Buffer
}

func (c *conn) call(req []byte) error {
	if c.nc == nil {
		nc, err := net.DialTimeout("tcp", c.addr, callTimeout)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		c.nc, c.br = nc, bufio.NewReaderSize(nc, 64<<10)
	}
	err := c.roundTrip(req)
	if err != nil {
		c.close()
	}
	return err
}

func (c *conn) roundTrip(req []byte) error {
	_ = c.nc.SetDeadline(time.Now().Add(callTimeout))
	if _, err := c.nc.Write(req); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	status, closing, err := c.readResponse()
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	b := c.body.Bytes()
	if status != http.StatusOK || !bytes.Contains(b, []byte(`"result"`)) || bytes.Contains(b, []byte(`"isError":true`)) {
		return fmt.Errorf("HTTP %d: %.300s", status, b)
	}
	if closing {
		c.close()
	}
	return nil
}

// readResponse reads one response into c.body and returns its status and whether the
// server closes the connection after it.
func (c *conn) readResponse() (status int, closing bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked := -1, false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("malformed header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body.Reset()
	switch {
	case chunked:
		_, err = c.body.ReadFrom(httputil.NewChunkedReader(c.br))
		if err == nil {
			_, err = c.br.Discard(2) // the CRLF after the last chunk (no trailers are sent)
		}
	case length >= 0:
		_, err = io.CopyN(&c.body, c.br, int64(length))
	default:
		return 0, false, errors.New("a response without Content-Length or chunked framing")
	}
	return status, closing, err
}

func (c *conn) close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}

// drive runs concurrency workers against addr for d, each sending the request of a random
// user per call, and returns the calls per second and the latencies of the calls. Any
// failed call ends the point with an error: a failing server has no throughput to report.
func drive(ctx context.Context, addr string, reqs requests, concurrency int, d time.Duration) (point, error) {
	// As many threads as pgbench runs at this concurrency: a lone caller on two threads
	// would have Go's scheduler wake the second for nothing, on the cores the server needs.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(clientThreads(concurrency)))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([][]time.Duration, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range concurrency {
		wg.Go(func() {
			c := &conn{addr: addr}
			defer c.close()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			mine := make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				if err := c.call(reqs[rnd.IntN(len(reqs))]); err != nil {
					cancel(err)
					break
				}
				mine = append(mine, time.Since(t0))
			}
			lat[w] = mine
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return point{}, context.Cause(ctx)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return newPoint(all, elapsed), nil
}

// clientThreads is how many threads each side's load client runs at concurrency c: pgbench
// gets -j with this value, and this process's Go code as many at once (GOMAXPROCS).
func clientThreads(c int) int { return min(c, 2) }
