package tasktools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mark3labs/mcp-go/server"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

// ServeStdio serves the tools over newline-delimited JSON-RPC on in/out for one local user,
// the way Claude Desktop runs a local server. There is no token on stdio: the user comes
// from the configuration of the process that the host starts. It returns when in ends or
// ctx is cancelled. Nothing but protocol messages is ever written to out.
func ServeStdio(ctx context.Context, pool *pgxpool.Pool, user string, in io.Reader, out io.Writer, logger *slog.Logger, version string) error {
	if err := auth.ValidateUserID(user); err != nil {
		return fmt.Errorf("stdio user: %w", err)
	}
	s := server.NewStdioServer(NewMCPServer(taskstore.New(pool), logger, version, nil))
	s.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	s.SetContextFunc(func(ctx context.Context) context.Context {
		return auth.WithUser(ctx, auth.Identity{UserID: user})
	})
	if err := s.Listen(ctx, in, out); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("serve stdio: %w", err)
	}
	return nil
}
