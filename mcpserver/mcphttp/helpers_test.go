package mcphttp_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
	"github.com/taskwire/taskwire/mcpserver/mcphttp/mcphttptest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	testSecret   = mcphttptest.Secret
	testAudience = mcphttptest.Audience
	testIssuer   = mcphttptest.Issuer
)

var quiet = mcphttptest.Quiet

func newServer(t testing.TB, change func(*mcphttp.Config)) *httptest.Server {
	return mcphttptest.NewServer(t, change)
}

func tokenFor(t testing.TB, user string) string { return mcphttptest.Token(t, user) }

// toolCall is the body of one tools/call (a stateless server needs no initialize first).
func toolCall(name string, args any) string {
	b, _ := json.Marshal(args)
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, name, b)
}
