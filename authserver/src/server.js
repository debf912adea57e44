// The HTTP front of the auth service: health, RFC 8414 metadata at the root, the sign-in and
// consent pages, and Better Auth's routes under /api/auth — each request body bounded, CORS
// answered for the chat page, and no request able to turn into a 500 by bad input alone.
import http from "node:http";
import { oauthProviderAuthServerMetadata } from "@better-auth/oauth-provider";
import { authorizeDefaults, registrationDefaults } from "./oauth-defaults.js";
import { CONSENT_PATH, SIGN_IN_PATH } from "./auth.js";
import { consentPage, escapeHTML, messagePage, PAGE_CSP, signInPage } from "./pages.js";

/** MAX_BODY_BYTES bounds every request body: forms and OAuth requests are small. */
export const MAX_BODY_BYTES = 64 * 1024;

const API_PREFIX = "/api/auth";

/**
 * Paths any origin may call from a browser (no cookies involved): discovery, keys, and the
 * token and registration endpoints browser-based MCP clients use.
 */
const PUBLIC_CORS_PATHS = new Set([
  "/.well-known/oauth-authorization-server",
  `${API_PREFIX}/jwks`,
  `${API_PREFIX}/oauth2/token`,
  `${API_PREFIX}/oauth2/register`,
  `${API_PREFIX}/oauth2/revoke`,
]);

class HTTPError extends Error {
  constructor(status, error, description) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

/**
 * createHandler returns the request handler. deps: cfg (config.js), auth (Better Auth), pool
 * (pg), logger, version, and state ({ draining }) which main flips on SIGTERM.
 */
export function createHandler({ cfg, auth, pool, logger, version, state }) {
  const trusted = new Set(cfg.trustedOrigins);
  const metadata = oauthProviderAuthServerMetadata(auth);

  async function callAuth(method, path, incoming, { json, raw, query, incomingIP } = {}) {
    const headers = new Headers();
    for (const [k, v] of Object.entries(incoming)) {
      if (v === undefined || ["host", "content-length", "connection", "transfer-encoding"].includes(k)) continue;
      headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    }
    let body;
    if (json !== undefined) {
      body = JSON.stringify(json);
      headers.set("content-type", "application/json");
    } else if (raw && raw.length > 0 && method !== "GET" && method !== "HEAD") {
      body = raw;
    }
    // Better Auth's per-IP rate limits read X-Forwarded-For; a direct client is its socket.
    if (!headers.has("x-forwarded-for") && incomingIP) headers.set("x-forwarded-for", incomingIP);
    const url = new URL(cfg.baseURL + path);
    if (query) url.search = query;
    return auth.handler(new Request(url, { method, headers, body }));
  }

  async function health(res) {
    if (state.draining) return sendJSON(res, 503, { status: "draining", service: "authserver", version });
    try {
      await withTimeout(pool.query("SELECT 1"), 2000);
    } catch {
      return sendJSON(res, 503, { status: "unhealthy", service: "authserver", version, environment: cfg.environment, database: "unreachable" });
    }
    return sendJSON(res, 200, { status: "healthy", service: "authserver", version, environment: cfg.environment });
  }

  // A page form must come from our own pages. Browsers send Origin with every POST; a request
  // without one is not a browser's, so there is no cross-site request to forge.
  function checkFormOrigin(req) {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== cfg.baseURL) {
      throw new HTTPError(403, "invalid_request", "this form must be submitted from the sign-in page");
    }
  }

  function authHeadersFor(req) {
    // Better Auth checks Origin on cookie-carrying POSTs; the form's own origin is ours.
    return { ...req.headers, origin: cfg.baseURL, accept: "application/json" };
  }

  async function signInOrUp(req, res, kind) {
    checkFormOrigin(req);
    const form = new URLSearchParams((await readBody(req)).toString("utf8"));
    const oauthQuery = form.get("oauth_query") || "";
    const email = (form.get("email") || "").trim();
    const payload = { email, password: form.get("password") || "" };
    if (kind === "up") payload.name = (form.get("name") || "").trim() || email;
    if (oauthQuery) payload.oauth_query = oauthQuery;
    const r = await callAuth("POST", kind === "up" ? "/api/auth/sign-up/email" : "/api/auth/sign-in/email", authHeadersFor(req), { json: payload, incomingIP: req.socket.remoteAddress });
    const data = await r.json().catch(() => ({}));
    const cookies = r.headers.getSetCookie();
    if (!r.ok) {
      const status = r.status >= 500 ? 500 : r.status;
      return sendHTML(res, status, signInPage({ oauthQuery, email, error: friendlyError(data, kind) }), cookies);
    }
    if (data.redirect === true && typeof data.url === "string") return redirect(res, data.url, cookies);
    return sendHTML(res, 200, messagePage("Signed in", "You are signed in to taskwire. You can close this window."), cookies);
  }

  async function showConsent(req, res, url) {
    const oauthQuery = url.search.slice(1);
    const session = await auth.api.getSession({ headers: toHeaders(req.headers) }).catch(() => null);
    if (!session) return redirect(res, `${SIGN_IN_PATH}?${oauthQuery}`);
    const clientID = url.searchParams.get("client_id");
    if (!clientID) throw new HTTPError(400, "invalid_request", "this consent link has no client_id");
    const client = await auth.api
      .getOAuthClientPublic({ query: { client_id: clientID }, headers: toHeaders(req.headers) })
      .catch(() => null);
    if (!client) throw new HTTPError(400, "invalid_client", "unknown client");
    const scopes = (url.searchParams.get("scope") || "").split(" ").filter(Boolean);
    return sendHTML(res, 200, consentPage({ oauthQuery, client, scopes, resource: url.searchParams.get("resource"), user: session.user }));
  }

  async function submitConsent(req, res) {
    checkFormOrigin(req);
    const form = new URLSearchParams((await readBody(req)).toString("utf8"));
    const accept = form.get("accept") === "yes";
    const r = await callAuth("POST", "/api/auth/oauth2/consent", authHeadersFor(req), {
      json: { accept, oauth_query: form.get("oauth_query") || "" },
    });
    const data = await r.json().catch(() => ({}));
    const target = data.redirect_uri || data.url;
    if (!r.ok || typeof target !== "string") {
      const status = r.status >= 400 && r.status < 500 ? r.status : 400;
      return sendHTML(res, status, messagePage("Could not complete the request", friendlyError(data, "consent")));
    }
    return redirect(res, target, r.headers.getSetCookie());
  }

  async function api(req, res, url) {
    const path = url.pathname;
    let raw = await readBody(req);
    let json;
    if (req.method === "POST" && path === `${API_PREFIX}/oauth2/register`) {
      json = parseJSON(raw);
      if (json === undefined) throw new HTTPError(400, "invalid_client_metadata", "the registration body must be JSON");
      json = registrationDefaults(json);
    }
    let query = url.search;
    if (req.method === "GET" && path === `${API_PREFIX}/oauth2/authorize`) {
      query = "?" + authorizeDefaults(url.searchParams, cfg.mcpPublicURL).toString();
    }
    // mcpserver takes Bearer tokens only, so no token may come out bound to a DPoP key.
    const headers = { ...req.headers };
    delete headers.dpop;
    const r = await callAuth(req.method, path, headers, { raw, json, query, incomingIP: req.socket.remoteAddress });
    if (req.method === "GET" && path === `${API_PREFIX}/oauth2/authorize` && r.status === 200) {
      // The plugin answers fetch-looking requests with {redirect, url} JSON; authorization is
      // a navigation for every client (RFC 6749 §4.1.1), so it always gets a real redirect.
      const data = await r.clone().json().catch(() => null);
      if (data?.redirect === true && typeof data.url === "string") return redirect(res, data.url, r.headers.getSetCookie());
    }
    return writeResponse(res, r);
  }

  function cors(req, res, path) {
    const origin = req.headers.origin;
    if (PUBLIC_CORS_PATHS.has(path)) {
      res.setHeader("Access-Control-Allow-Origin", "*");
    } else if (path.startsWith(API_PREFIX) && origin && trusted.has(origin)) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Allow-Credentials", "true");
      res.setHeader("Vary", "Origin");
    } else {
      return false;
    }
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "content-type, authorization");
      res.setHeader("Access-Control-Max-Age", "600");
      res.writeHead(204).end();
      return true;
    }
    return false;
  }

  async function route(req, res) {
    const url = new URL(req.url, cfg.baseURL);
    const path = url.pathname;
    if (cors(req, res, path)) return;
    const m = req.method;
    if ((path === "/health" || path === "/ready") && m === "GET") {
      if (path === "/ready" && state.draining) return sendJSON(res, 503, { status: "draining" });
      return health(res);
    }
    if (path === "/.well-known/oauth-authorization-server" && m === "GET") {
      const r = await metadata(new Request(cfg.baseURL + path));
      const doc = await r.json();
      // Tokens are Bearer only (DPoP proofs are stripped above), so DPoP is not advertised.
      delete doc.dpop_signing_alg_values_supported;
      return sendJSON(res, r.status, doc, { "Cache-Control": "public, max-age=300" });
    }
    if (path === SIGN_IN_PATH && m === "GET") return sendHTML(res, 200, signInPage({ oauthQuery: url.search.slice(1) }));
    if (path === SIGN_IN_PATH && m === "POST") return signInOrUp(req, res, "in");
    if (path === "/sign-up" && m === "POST") return signInOrUp(req, res, "up");
    if (path === CONSENT_PATH && m === "GET") return showConsent(req, res, url);
    if (path === CONSENT_PATH && m === "POST") return submitConsent(req, res);
    if (path === "/error" && m === "GET") {
      // Better Auth sends the browser here when it cannot redirect back to the client.
      const error = url.searchParams.get("error") || "error";
      const text = url.searchParams.get("error_description") || "The request could not be completed.";
      return sendHTML(res, 400, messagePage(`Error: ${error}`, text));
    }
    if (path === API_PREFIX || path.startsWith(API_PREFIX + "/")) return api(req, res, url);
    throw new HTTPError(404, "not_found", "no such page");
  }

  return async function handle(req, res) {
    const started = Date.now();
    try {
      await route(req, res);
    } catch (err) {
      if (err instanceof HTTPError) {
        sendJSON(res, err.status, { error: err.error, error_description: err.message });
      } else {
        logger.error("request failed", { method: req.method, path: safePath(req.url), error: String(err?.stack || err) });
        if (!res.headersSent) sendJSON(res, 500, { error: "server_error", error_description: "internal error" });
        else res.destroy();
      }
    } finally {
      // Only the path: queries carry codes, states and signed requests.
      logger.info("request", { method: req.method, path: safePath(req.url), status: res.statusCode, ms: Date.now() - started });
    }
  };
}

/** createServer wraps the handler in a node:http server with conservative limits. */
export function createServer(deps) {
  const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 10_000 }, createHandler(deps));
  // Longer than clients' and proxies' own idle timeouts, so they close idle connections first
  // and never send a request on one we are closing.
  server.keepAliveTimeout = 65_000;
  return server;
}

function safePath(u) {
  return String(u || "").split("?")[0].slice(0, 200);
}

function toHeaders(nodeHeaders) {
  const h = new Headers();
  for (const [k, v] of Object.entries(nodeHeaders)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

async function readBody(req) {
  const declared = Number(req.headers["content-length"] || 0);
  if (declared > MAX_BODY_BYTES) throw new HTTPError(413, "invalid_request", `request body larger than ${MAX_BODY_BYTES} bytes`);
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HTTPError(413, "invalid_request", `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseJSON(buf) {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    return undefined;
  }
}

function withTimeout(p, ms) {
  let t;
  return Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error("timeout")), ms)))]).finally(() => clearTimeout(t));
}

/** friendlyError turns a Better Auth error body into one sentence for a page. */
function friendlyError(data, kind) {
  const code = data?.code || data?.error;
  if (code === "INVALID_EMAIL_OR_PASSWORD") return "Wrong e-mail or password.";
  if (code === "USER_ALREADY_EXISTS" || code === "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL") return "An account with this e-mail already exists; sign in instead.";
  if (code === "PASSWORD_TOO_SHORT") return "The password must have at least 8 characters.";
  if (code === "invalid_signature") return "This sign-in link is no longer valid; start connecting again from your app.";
  const text = data?.error_description || data?.message;
  if (typeof text === "string" && text) return text.slice(0, 300);
  return kind === "consent" ? "The authorization request is no longer valid; start again from your app." : "Could not sign you in.";
}

function sendJSON(res, status, body, extra = {}) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...extra });
  res.end(JSON.stringify(body));
}

function sendHTML(res, status, html, cookies = []) {
  if (cookies.length) res.setHeader("Set-Cookie", cookies);
  res.writeHead(status, {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
  });
  res.end(html);
}

function redirect(res, location, cookies = []) {
  if (cookies.length) res.setHeader("Set-Cookie", cookies);
  res.writeHead(302, { Location: location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" });
  res.end(`<a href="${escapeHTML(location)}">Continue</a>`);
}

async function writeResponse(res, r) {
  const cookies = r.headers.getSetCookie();
  if (cookies.length) res.setHeader("Set-Cookie", cookies);
  r.headers.forEach((v, k) => {
    if (k !== "set-cookie" && k !== "content-length" && k !== "content-encoding" && k !== "transfer-encoding") res.setHeader(k, v);
  });
  const body = Buffer.from(await r.arrayBuffer());
  res.writeHead(r.status);
  res.end(body);
}
