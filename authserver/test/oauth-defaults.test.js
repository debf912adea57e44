import { test } from "node:test";
import assert from "node:assert/strict";
import { authorizeDefaults, registrationDefaults } from "../src/oauth-defaults.js";

const MCP = "https://tasks.example.com/mcp";

test("authorizeDefaults fills in resource and offline_access only", () => {
  const cases = [
    ["scope=tasks:read%20tasks:write", { resource: MCP, scope: "tasks:read tasks:write offline_access" }],
    ["scope=tasks:read&resource=https://other.example/mcp", { resource: "https://other.example/mcp", scope: "tasks:read offline_access" }],
    ["scope=offline_access%20tasks:read", { resource: MCP, scope: "offline_access tasks:read" }],
    ["client_id=x", { resource: MCP, scope: null }],
    ["scope=tasks:read&dpop_jkt=abc", { resource: MCP, scope: "tasks:read offline_access", dpop_jkt: null }],
  ];
  for (const [q, want] of cases) {
    const p = authorizeDefaults(new URLSearchParams(q), MCP);
    for (const [k, v] of Object.entries(want)) assert.equal(p.get(k), v, `${q}: ${k}`);
  }
});

test("registrationDefaults makes loopback-redirect clients native, and nothing else", () => {
  const cases = [
    [{ redirect_uris: ["http://127.0.0.1:33418/"] }, "native"],
    [{ redirect_uris: ["https://vscode.dev/redirect", "http://localhost:6274/cb"] }, "native"],
    [{ redirect_uris: ["https://claude.ai/api/mcp/auth_callback"] }, undefined],
    [{ redirect_uris: ["http://127.0.0.1:1/cb"], application_type: "web" }, "web"],
    [{ redirect_uris: ["http://evil.example/cb"] }, undefined],
    [{ redirect_uris: "nope" }, undefined],
  ];
  for (const [body, want] of cases) assert.equal(registrationDefaults(body).application_type, want, JSON.stringify(body));
  assert.deepEqual(registrationDefaults({ redirect_uris: [] }).grant_types, ["authorization_code", "refresh_token"]);
  assert.deepEqual(registrationDefaults({ grant_types: ["authorization_code"] }).grant_types, ["authorization_code"]);
  assert.equal(registrationDefaults(null), null);
  assert.deepEqual(registrationDefaults([1]), [1]);
});
