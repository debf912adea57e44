import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../src/config.js";

const base = { DATABASE_URL: "postgres://u@localhost/db", BETTER_AUTH_SECRET: "s".repeat(32) };

test("defaults match the shared contract", () => {
  const c = loadConfig(base);
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.port, 8002);
  assert.equal(c.baseURL, "http://127.0.0.1:8002");
  assert.equal(c.mcpPublicURL, "http://127.0.0.1:8001/mcp");
  assert.deepEqual(c.trustedOrigins, ["http://127.0.0.1:8000"]);
  assert.equal(c.accessTokenTTL, 3600);
});

test("production allows http only on loopback", () => {
  assert.equal(loadConfig({ ...base, ENVIRONMENT: "production" }).baseURL, "http://127.0.0.1:8002");
  assert.equal(loadConfig({ ...base, ENVIRONMENT: "production", BETTER_AUTH_URL: "https://auth.example.com" }).baseURL, "https://auth.example.com");
});

test("values are normalised", () => {
  const c = loadConfig({ ...base, BETTER_AUTH_URL: "https://auth.example.com/", MCP_PUBLIC_URL: "https://tasks.example.com/mcp/", AUTH_TRUSTED_ORIGINS: "https://chat.example.com, https://chat.example.com,http://localhost:3000" });
  assert.equal(c.baseURL, "https://auth.example.com");
  assert.equal(c.mcpPublicURL, "https://tasks.example.com/mcp");
  assert.deepEqual(c.trustedOrigins, ["https://chat.example.com", "http://localhost:3000"]);
});

test("each bad setting is refused with the variable's name", () => {
  const cases = [
    [{ DATABASE_URL: "" }, /^DATABASE_URL is required/],
    [{ DATABASE_URL: "mysql://x" }, /^DATABASE_URL must be/],
    [{ BETTER_AUTH_SECRET: "" }, /^BETTER_AUTH_SECRET is required/],
    [{ BETTER_AUTH_SECRET: "short" }, /^BETTER_AUTH_SECRET must be at least 32/],
    [{ AUTH_PORT: "80a" }, /^AUTH_PORT=/],
    [{ AUTH_PORT: "70000" }, /^AUTH_PORT=/],
    [{ BETTER_AUTH_URL: "not a url" }, /^BETTER_AUTH_URL:/],
    [{ BETTER_AUTH_URL: "https://auth.example.com/api/auth" }, /^BETTER_AUTH_URL: .* origin only/],
    [{ BETTER_AUTH_URL: "ftp://auth.example.com" }, /^BETTER_AUTH_URL: .* http/],
    [{ MCP_PUBLIC_URL: "https://tasks.example.com/mcp#x" }, /^MCP_PUBLIC_URL:/],
    [{ AUTH_TRUSTED_ORIGINS: "https://chat.example.com/page" }, /^AUTH_TRUSTED_ORIGINS:/],
    [{ AUTH_ACCESS_TOKEN_TTL: "5" }, /^AUTH_ACCESS_TOKEN_TTL=/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL=/],
    [{ ENVIRONMENT: "production", BETTER_AUTH_URL: "http://auth.example.com" }, /^BETTER_AUTH_URL must be https/],
  ];
  for (const [env, want] of cases) {
    assert.throws(() => loadConfig({ ...base, ...env }), { message: want }, JSON.stringify(env));
  }
});
