import { test } from "node:test";
import assert from "node:assert/strict";
import { consentPage, escapeHTML, signInPage } from "../src/pages.js";

const hostile = `"><script>alert(1)</script><img src=x onerror='x'>\``;

test("escapeHTML leaves no markup or attribute breakout", () => {
  const s = escapeHTML(hostile);
  for (const bad of ["<", ">", '"', "'", "`"]) assert.ok(!s.includes(bad), `${bad} in ${s}`);
  assert.equal(escapeHTML(undefined), "");
});

test("the consent page shows the client and its scopes, escaped", () => {
  const html = consentPage({
    oauthQuery: `client_id=a&x=${hostile}`,
    client: { client_id: "abc", client_name: hostile, client_uri: hostile },
    scopes: ["tasks:read", "tasks:write", hostile],
    resource: "https://tasks.example.com/mcp",
    user: { email: hostile },
  });
  assert.ok(!html.includes("<script>alert"), "script injected");
  assert.ok(!html.includes("onerror='"), "attribute injected");
  assert.match(html, /See your tasks/);
  assert.match(html, /Add, change, complete and delete your tasks/);
  assert.match(html, /https:\/\/tasks\.example\.com\/mcp/);
  assert.match(html, /name="accept" value="yes"/);
  assert.match(html, /name="accept" value="no"/);
});

test("the sign-in page carries the signed request in both forms, escaped", () => {
  const html = signInPage({ oauthQuery: `a=1&b="><x`, email: hostile, error: hostile });
  assert.equal(html.split(`name="oauth_query" value="${escapeHTML('a=1&b="><x')}"`).length - 1, 2);
  assert.ok(!html.includes("<script>alert"));
  assert.ok(!html.includes("<script"), "the page needs no JavaScript");
});
