package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
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
// and reads responses with the standard parser: a client this thin leaves the two shared
// cores to the server, as pgbench (in C) does for PostgreSQL.
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
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read response body: %w", err)
	}
	b := c.body.Bytes()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"result"`)) || bytes.Contains(b, []byte(`"isError":true`)) {
		return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	if resp.Close {
		c.close()
	}
	return nil
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
