// End-to-end OAuth test: the MCP TypeScript SDK's OAuth client (an implementation nobody on
// this team wrote) adds mcpserver by its URL, exactly as a host would — discovery from the
// 401, protected-resource metadata, authorization-server metadata, dynamic registration,
// authorization code + PKCE with `resource` — while this script plays the user's browser over
// plain HTTP (a cookie jar, the no-JavaScript sign-up and consent forms). Then: tool calls as
// that user, refresh-token rotation and reuse detection, scopes (403 insufficient_scope), and
// the bad inputs the auth service must refuse without a 500 and without a token.
//
// Env: AUTH_URL (the auth service), MCP_URL (mcpserver's /mcp), SIGN_TOKEN (a command printing
// a JWT signed with the auth service's own key for given claims: sign-token.mjs).
// Every check prints PASS/FAIL; the exit code is 1 if any failed.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, discoverAuthorizationServerMetadata, refreshAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import { Browser, authorizeInBrowser } from "./browser.mjs";

const AUTH_URL = mustEnv("AUTH_URL");
const MCP_URL = mustEnv("MCP_URL");
const SIGN_TOKEN = mustEnv("SIGN_TOKEN");
const REDIRECT = "http://127.0.0.1:47123/callback"; // never listened on: the code is read from the Location header

const failures = [];
let checks = 0;
function check(name, ok, detail = "") {
  checks++;
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${!ok && detail ? ` — ${detail}` : ""}`);
  if (!ok) failures.push(name);
  return ok;
}
function mustEnv(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
}

// ---- the SDK's OAuth client ---------------------------------------------------------------
class TestProvider {
  constructor(browser, account) {
    this.browser = browser;
    this.account = account;
    this.info = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.code = undefined;
    this.flow = undefined;
    this.tokenResponses = [];
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: "taskwire e2e (MCP TypeScript SDK)", redirect_uris: [REDIRECT], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(t) { this.saved = t; this.tokenResponses.push(t); }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) {
    this.authorizationURL = url;
    this.flow = await authorizeInBrowser(this.browser, url.href, this.account, { signUp: true });
    if (this.flow.final) this.code = new URL(this.flow.final).searchParams.get("code");
  }
}

function decodeJWT(t) {
  const [h, p] = t.split(".");
  return { header: JSON.parse(Buffer.from(h, "base64url")), payload: JSON.parse(Buffer.from(p, "base64url")) };
}

async function connect(authProvider, headers) {
  const client = new Client({ name: "taskwire-oauth-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), authProvider ? { authProvider } : { requestInit: { headers } });
  await client.connect(transport);
  return { client, transport };
}

/** rawCall sends one JSON-RPC tools/call with a bearer token and returns the HTTP response. */
async function rawCall(token, tool, args = {}) {
  return fetch(MCP_URL, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: args } }),
  });
}

function signToken(claims) {
  return execFileSync(SIGN_TOKEN.split(" ")[0], [...SIGN_TOKEN.split(" ").slice(1), JSON.stringify(claims)], { encoding: "utf8" }).trim();
}

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

async function tokenRequest(fields) {
  const res = await fetch(`${AUTH_URL}/api/auth/oauth2/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: new URLSearchParams(fields).toString() });
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

function authorizeURL(clientID, { redirect = REDIRECT, challenge, scope, resource = MCP_URL, state = "s" + randomBytes(6).toString("hex") } = {}) {
  const u = new URL(`${AUTH_URL}/api/auth/oauth2/authorize`);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", clientID);
  u.searchParams.set("redirect_uri", redirect);
  if (challenge) {
    u.searchParams.set("code_challenge", challenge);
    u.searchParams.set("code_challenge_method", "S256");
  }
  if (scope !== undefined) u.searchParams.set("scope", scope);
  if (resource) u.searchParams.set("resource", resource);
  u.searchParams.set("state", state);
  return u;
}

async function main() {
  const browser = new Browser();
  const account = { name: "Olivia OAuth", email: `olivia+${randomBytes(4).toString("hex")}@example.com`, password: "correct horse battery" };

  // 1. The 401 that starts discovery.
  const anon = await fetch(MCP_URL, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
  const challenge = anon.headers.get("www-authenticate") || "";
  check("no token: mcpserver answers 401", anon.status === 401, `got ${anon.status}`);
  check("no token: the challenge names resource_metadata", /resource_metadata="[^"]+"/.test(challenge), challenge);
  check('no token: the challenge says scope="tasks:read tasks:write"', /scope="tasks:read tasks:write"/.test(challenge), challenge);
  const prmURL = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
  if (prmURL) {
    const prm = await (await fetch(prmURL)).json();
    check("protected-resource metadata lists the auth service", (prm.authorization_servers || []).includes(AUTH_URL), JSON.stringify(prm));
    check("protected-resource metadata lists scopes_supported", JSON.stringify(prm.scopes_supported || []).includes("tasks:write"), JSON.stringify(prm));
  }
  const asMeta = await discoverAuthorizationServerMetadata(AUTH_URL);
  check("AS metadata: issuer is BETTER_AUTH_URL", asMeta?.issuer === AUTH_URL, asMeta?.issuer);
  check("AS metadata: PKCE S256, public clients, registration", JSON.stringify(asMeta?.code_challenge_methods_supported) === '["S256"]' && asMeta?.token_endpoint_auth_methods_supported?.includes("none") && Boolean(asMeta?.registration_endpoint));

  // 2. The SDK's whole flow: it discovers, registers, and sends the browser to authorize.
  const provider = new TestProvider(browser, account);
  let first;
  try {
    first = await connect(provider);
    check("SDK: the first connect needs authorization", false, "connected without signing in");
  } catch (err) {
    check("SDK: the first connect asks for authorization (UnauthorizedError)", err instanceof UnauthorizedError, String(err));
  }
  check("SDK: dynamic client registration gave a public client id", Boolean(provider.info?.client_id) && !provider.info?.client_secret, JSON.stringify(provider.info));
  const authzURL = provider.authorizationURL;
  check("SDK: authorization request carries resource = mcpserver URL", authzURL?.searchParams.get("resource") === MCP_URL, authzURL?.href);
  check("SDK: authorization request uses PKCE S256", authzURL?.searchParams.get("code_challenge_method") === "S256");
  check("browser: sign-up + consent forms ended at the redirect URI with a code", Boolean(provider.code), provider.flow?.error || JSON.stringify(provider.flow?.seen.statuses));
  const consentHTML = provider.flow?.seen.consentHTML || "";
  check("consent page names the client and the scopes", consentHTML.includes("taskwire e2e (MCP TypeScript SDK)") && consentHTML.includes("tasks:write") && consentHTML.includes("tasks:read"));
  check("the redirect to the client carries iss (RFC 9207)", Boolean(provider.flow?.final) && new URL(provider.flow.final).searchParams.get("iss") === AUTH_URL, provider.flow?.final);

  const transport0 = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
  await transport0.finishAuth(provider.code);
  const tok = provider.saved;
  check("token response has access_token, refresh_token and expires_in", Boolean(tok?.access_token && tok?.refresh_token && tok?.expires_in > 0), JSON.stringify({ ...tok, access_token: tok?.access_token && "…", refresh_token: tok?.refresh_token && "…" }));
  const session = await (await browser.fetch(`${AUTH_URL}/api/auth/get-session`)).json();
  const userID = session?.user?.id;
  const at = decodeJWT(tok.access_token);
  check("access token is a JWT (at+jwt, EdDSA) signed with a JWKS key", at.header.typ === "at+jwt" && at.header.alg === "EdDSA" && Boolean(at.header.kid), JSON.stringify(at.header));
  check("access token: sub = the Better Auth user id", Boolean(userID) && at.payload.sub === userID, `${at.payload.sub} vs ${userID}`);
  check("access token: iss = BETTER_AUTH_URL, aud = MCP_PUBLIC_URL", at.payload.iss === AUTH_URL && (at.payload.aud === MCP_URL || (Array.isArray(at.payload.aud) && at.payload.aud.includes(MCP_URL))), JSON.stringify({ iss: at.payload.iss, aud: at.payload.aud }));
  check("access token: scope has tasks:read and tasks:write", /\btasks:read\b/.test(at.payload.scope) && /\btasks:write\b/.test(at.payload.scope), at.payload.scope);
  check("access token: exp matches expires_in", Math.abs(at.payload.exp - at.payload.iat - tok.expires_in) <= 2, `${at.payload.exp - at.payload.iat} vs ${tok.expires_in}`);

  // 3. Tool calls as that user.
  try {
    const { client } = await connect(provider);
    const added = await client.callTool({ name: "add_task", arguments: { title: "buy bread (oauth e2e)" } });
    check("tools/call add_task as the signed-in user", !added.isError, JSON.stringify(added).slice(0, 300));
    const listed = await client.callTool({ name: "list_tasks", arguments: {} });
    check("tools/call list_tasks shows the task", JSON.stringify(listed).includes("buy bread (oauth e2e)"), JSON.stringify(listed).slice(0, 300));
    await client.close();
  } catch (err) {
    check("tools/call with the OAuth token", false, String(err));
  }

  // 4. Refresh: rotation, then downscoping, then reuse detection revoking the family.
  const info = provider.info;
  const rt0 = tok.refresh_token;
  const r1 = await refreshAuthorization(AUTH_URL, { metadata: asMeta, clientInformation: info, refreshToken: rt0, resource: new URL(MCP_URL) });
  check("refresh: new access and refresh tokens, with expires_in", Boolean(r1.access_token) && Boolean(r1.refresh_token) && r1.refresh_token !== rt0 && r1.expires_in > 0);
  check("refresh: the new access token keeps aud = MCP_PUBLIC_URL", [decodeJWT(r1.access_token).payload.aud].flat().includes(MCP_URL));
  const r2 = await tokenRequest({ grant_type: "refresh_token", refresh_token: r1.refresh_token, client_id: info.client_id, scope: "tasks:read", resource: MCP_URL });
  const readOnly = r2.body.access_token;
  check("refresh with scope=tasks:read gives a read-only token", r2.status === 200 && readOnly && decodeJWT(readOnly).payload.scope === "tasks:read" && r2.body.expires_in > 0, JSON.stringify(r2.body).slice(0, 200));
  const reuse = await tokenRequest({ grant_type: "refresh_token", refresh_token: rt0, client_id: info.client_id });
  check("reused refresh token is refused (invalid_grant), no token", reuse.status === 400 && reuse.body.error === "invalid_grant" && !reuse.body.access_token, JSON.stringify(reuse));
  const afterReuse = await tokenRequest({ grant_type: "refresh_token", refresh_token: r2.body.refresh_token, client_id: info.client_id });
  check("after a reuse the whole refresh family is revoked", afterReuse.status === 400 && afterReuse.body.error === "invalid_grant" && !afterReuse.body.access_token, JSON.stringify(afterReuse));

  // 5. Scopes at mcpserver (SEP-835 step-up): read-only token.
  if (readOnly) {
    const write = await rawCall(readOnly, "add_task", { title: "must not be added" });
    const wa = write.headers.get("www-authenticate") || "";
    check("read-only token: add_task gets HTTP 403", write.status === 403, `got ${write.status} ${(await write.text()).slice(0, 200)}`);
    check('read-only token: 403 challenge has error="insufficient_scope", scope="tasks:write"', /error="insufficient_scope"/.test(wa) && /scope="tasks:write"/.test(wa), wa);
    const read = await rawCall(readOnly, "list_tasks");
    const readBody = await read.text();
    check("read-only token: list_tasks works", read.status === 200 && readBody.includes("buy bread (oauth e2e)") && !readBody.includes("must not be added"), `got ${read.status} ${readBody.slice(0, 200)}`);
  }

  // 6. Tokens mcpserver must refuse with 401 + challenge.
  const now = Math.floor(Date.now() / 1000);
  const pageToken = (await (await browser.fetch(`${AUTH_URL}/api/auth/token`)).json()).token;
  const bad = {
    "expired token": signToken({ sub: userID, iss: AUTH_URL, aud: MCP_URL, scope: "tasks:read tasks:write", iat: now - 7200, exp: now - 3600 }),
    "token for another audience": signToken({ sub: userID, iss: AUTH_URL, aud: "https://elsewhere.example/mcp", scope: "tasks:read tasks:write", iat: now, exp: now + 600 }),
    "tampered token": tok.access_token.slice(0, -4) + (tok.access_token.endsWith("AAAA") ? "BBBB" : "AAAA"),
    "session JWT of the chat page (aud = BETTER_AUTH_URL)": pageToken,
  };
  for (const [name, t] of Object.entries(bad)) {
    const r = await rawCall(t, "list_tasks");
    const wa = r.headers.get("www-authenticate") || "";
    check(`${name}: 401`, r.status === 401, `got ${r.status}`);
    check(`${name}: challenge with resource_metadata and scope`, /resource_metadata="[^"]+"/.test(wa) && /scope="tasks:read tasks:write"/.test(wa), wa);
  }
  const pageJWT = decodeJWT(bad["session JWT of the chat page (aud = BETTER_AUTH_URL)"]).payload;
  check("page session JWT: iss = aud = BETTER_AUTH_URL, sub = user, ~15 min", pageJWT.iss === AUTH_URL && pageJWT.aud === AUTH_URL && pageJWT.sub === userID && pageJWT.exp - pageJWT.iat === 900, JSON.stringify(pageJWT));

  // 7. Bad input at the auth service: clear OAuth errors, never a 500, never a token.
  await badInput(browser, account, info);

  console.log(`\n${checks - failures.length}/${checks} checks passed`);
  if (failures.length) {
    console.log("failed:\n  " + failures.join("\n  "));
    process.exit(1);
  }
}

async function badInput(browser, account, info) {
  // Wrong password: API and form.
  const wrong = await fetch(`${AUTH_URL}/api/auth/sign-in/email`, { method: "POST", headers: { "content-type": "application/json", origin: AUTH_URL }, body: JSON.stringify({ email: account.email, password: "wrong password!" }) });
  const wrongBody = await wrong.text();
  check("wrong password (API): 401, no token", wrong.status === 401 && !/"token"\s*:\s*"/.test(wrongBody), `${wrong.status} ${wrongBody.slice(0, 200)}`);
  const wrongForm = await new Browser().postForm(`${AUTH_URL}/sign-in`, { email: account.email, password: "wrong password!" });
  const wrongFormHTML = await wrongForm.text();
  check("wrong password (form): 401 page saying so, no session cookie", wrongForm.status === 401 && wrongFormHTML.includes("Wrong e-mail or password") && !(wrongForm.headers.getSetCookie().some((c) => /session_token=[^;]/.test(c))), `${wrongForm.status}`);

  // Unknown client and unregistered redirect URI: the error page, never the given redirect.
  const { verifier, challenge } = pkce();
  for (const [name, url] of [
    ["unknown client", authorizeURL("no-such-client", { challenge })],
    ["unregistered redirect URI", authorizeURL(info.client_id, { challenge, redirect: "https://evil.example/callback" })],
  ]) {
    const r = await browser.fetch(url.href);
    const loc = r.headers.get("location") || "";
    check(`${name}: no redirect to the client, an error instead`, r.status < 500 && !loc.includes("evil.example") && !loc.includes("code=") && (r.status >= 400 || loc.includes("error=")), `${r.status} ${loc}`);
  }

  // Loopback redirect on another port (RFC 8252) is accepted.
  const port = await authorizeInBrowser(browser, authorizeURL(info.client_id, { challenge, redirect: "http://127.0.0.1:51999/callback" }).href, account);
  check("loopback redirect URI on another port is accepted", Boolean(port.final?.startsWith("http://127.0.0.1:51999/callback?") && new URL(port.final).searchParams.get("code")), port.error || port.final);

  // PKCE mismatch, then a replayed code.
  const codeA = new URL((await authorizeInBrowser(browser, authorizeURL(info.client_id, { challenge }).href, account)).final).searchParams.get("code");
  const mismatch = await tokenRequest({ grant_type: "authorization_code", code: codeA, code_verifier: pkce().verifier, client_id: info.client_id, redirect_uri: REDIRECT, resource: MCP_URL });
  // Better Auth answers 401 invalid_request ("code verification failed") where RFC 6749 says invalid_grant.
  check("PKCE mismatch: an OAuth error, no token", [400, 401].includes(mismatch.status) && ["invalid_grant", "invalid_request"].includes(mismatch.body.error) && !mismatch.body.access_token, JSON.stringify(mismatch));
  const afterMismatch = await tokenRequest({ grant_type: "authorization_code", code: codeA, code_verifier: verifier, client_id: info.client_id, redirect_uri: REDIRECT, resource: MCP_URL });
  check("a code whose PKCE check failed is spent", afterMismatch.status >= 400 && afterMismatch.status < 500 && !afterMismatch.body.access_token, JSON.stringify(afterMismatch));
  const codeB = new URL((await authorizeInBrowser(browser, authorizeURL(info.client_id, { challenge }).href, account)).final).searchParams.get("code");
  const good = await tokenRequest({ grant_type: "authorization_code", code: codeB, code_verifier: verifier, client_id: info.client_id, redirect_uri: REDIRECT, resource: MCP_URL });
  check("code + PKCE (by hand): tokens with expires_in", good.status === 200 && good.body.access_token && good.body.expires_in > 0, JSON.stringify(good.body).slice(0, 200));
  const replay = await tokenRequest({ grant_type: "authorization_code", code: codeB, code_verifier: verifier, client_id: info.client_id, redirect_uri: REDIRECT, resource: MCP_URL });
  check("replayed code: invalid_grant, no token", replay.status === 400 && replay.body.error === "invalid_grant" && !replay.body.access_token, JSON.stringify(replay));

  // Without scope: the default (tasks:read tasks:write, and a refresh token); without resource: still a token for mcpserver.
  const noScope = await authorizeInBrowser(browser, authorizeURL(info.client_id, { challenge, scope: undefined, resource: null }).href, account);
  const codeC = noScope.final && new URL(noScope.final).searchParams.get("code");
  const dflt = await tokenRequest({ grant_type: "authorization_code", code: codeC || "x", code_verifier: verifier, client_id: info.client_id, redirect_uri: REDIRECT });
  const dp = dflt.body.access_token ? decodeJWT(dflt.body.access_token).payload : {};
  check("no scope and no resource: default scopes, aud = mcpserver, refresh token", /\btasks:read\b/.test(dp.scope) && /\btasks:write\b/.test(dp.scope) && [dp.aud].flat().includes(MCP_URL) && Boolean(dflt.body.refresh_token), JSON.stringify({ status: dflt.status, scope: dp.scope, aud: dp.aud, error: dflt.body.error }));

  // Token endpoint and registration errors.
  const unknownClient = await tokenRequest({ grant_type: "refresh_token", refresh_token: "nope", client_id: "no-such-client" });
  check("token endpoint, unknown client: 4xx OAuth error, no token", unknownClient.status >= 400 && unknownClient.status < 500 && Boolean(unknownClient.body.error) && !unknownClient.body.access_token, JSON.stringify(unknownClient));
  const badGrant = await tokenRequest({ grant_type: "password", username: "x", password: "y", client_id: info.client_id });
  check("token endpoint, unsupported grant: 4xx", badGrant.status >= 400 && badGrant.status < 500 && Boolean(badGrant.body.error), JSON.stringify(badGrant));
  const register = (body, raw) => fetch(`${AUTH_URL}/api/auth/oauth2/register`, { method: "POST", headers: { "content-type": "application/json" }, body: raw ?? JSON.stringify(body) });
  const hosts = await register({ client_name: "hosts", redirect_uris: ["https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback", "https://chatgpt.com/connector_platform_oauth_redirect", "http://127.0.0.1:33418/", "http://localhost:6274/oauth/callback"], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"] });
  check("registration: Claude, ChatGPT and loopback redirect URIs accepted", hosts.status === 201, `${hosts.status} ${(await hosts.text()).slice(0, 200)}`);
  const bare = await register({ client_name: "bare", redirect_uris: ["http://127.0.0.1:40000/cb"], token_endpoint_auth_method: "none" });
  const bareBody = await bare.json().catch(() => ({}));
  check("registration without grant_types or application_type: refresh tokens allowed, loopback accepted", bare.status === 201 && (bareBody.grant_types || []).includes("refresh_token"), `${bare.status} ${JSON.stringify(bareBody).slice(0, 200)}`);
  const js = await register({ client_name: "x", redirect_uris: ["javascript:alert(1)"], token_endpoint_auth_method: "none" });
  check("registration: a javascript: redirect URI is refused (400)", js.status === 400, `${js.status}`);
  const notJSON = await register(null, "{not json");
  check("registration: malformed JSON is 400", notJSON.status === 400, `${notJSON.status}`);
  const huge = await register(null, JSON.stringify({ client_name: "x".repeat(100_000), redirect_uris: [REDIRECT] }));
  check("registration: an oversized body is 413", huge.status === 413, `${huge.status}`);
  const forged = await browser.fetch(`${AUTH_URL}/consent`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" }, body: "accept=yes&oauth_query=x" });
  check("consent form posted from another origin: 403", forged.status === 403, `${forged.status}`);
  const badSig = await browser.postForm(`${AUTH_URL}/consent`, { accept: "yes", oauth_query: "client_id=x&sig=forged" });
  check("consent with a forged request: 4xx, no redirect", badSig.status >= 400 && badSig.status < 500, `${badSig.status}`);
}

main().catch((err) => {
  console.error("FAIL (crashed):", err?.stack || err);
  process.exit(1);
});
