// Small rewrites of OAuth requests before Better Auth sees them, where MCP hosts and the
// provider plugin's defaults disagree. Each one only fills in what the client left out.
import { isLoopbackHost } from "./config.js";

/**
 * authorizeDefaults adjusts an authorization request (URLSearchParams, changed in place):
 * - no `resource` (RFC 8707): mcpserver's URL, so the access token is a JWT whose aud is
 *   mcpserver — the plugin would otherwise issue an opaque token no resource server accepts;
 * - a `scope` without offline_access: add it. MCP hosts ask for the scopes the resource
 *   advertises (tasks:read tasks:write); without offline_access the plugin issues no refresh
 *   token and the user would have to sign in again every hour. An omitted scope is left to
 *   the plugin, which grants the client's registered scopes (all of them by default).
 */
export function authorizeDefaults(params, mcpPublicURL) {
  if (!params.has("resource")) params.set("resource", mcpPublicURL);
  // Codes bound to a DPoP key could never be redeemed: DPoP proofs are not accepted here.
  params.delete("dpop_jkt");
  const scope = params.get("scope");
  if (scope !== null && scope.trim() !== "") {
    const scopes = scope.split(" ").filter(Boolean);
    if (!scopes.includes("offline_access")) scopes.push("offline_access");
    params.set("scope", scopes.join(" "));
  }
  return params;
}

/**
 * registrationDefaults adjusts a dynamic client registration (RFC 7591) body, filling in only
 * what the client left out (RFC 7591 §3.2.1 lets the server choose those values):
 * - no grant_types: authorization_code and refresh_token. The RFC's default is the code
 *   alone, which would leave a host that omits the field without refresh tokens, signing the
 *   user in again every hour;
 * - no application_type, and a loopback redirect URI: native. Better Auth takes a client that
 *   does not say for a web client and refuses http://127.0.0.1:PORT/… redirect URIs — exactly
 *   what desktop hosts (Claude Code, VS Code, the MCP SDKs) register (RFC 8252).
 */
export function registrationDefaults(body) {
  if (!body || typeof body !== "object" || Array.isArray(body)) return body;
  const out = { ...body };
  if (out.grant_types === undefined) out.grant_types = ["authorization_code", "refresh_token"];
  if (out.application_type === undefined && Array.isArray(out.redirect_uris) && out.redirect_uris.some(isLoopbackRedirect)) {
    out.application_type = "native";
  }
  return out;
}

function isLoopbackRedirect(u) {
  try {
    const url = new URL(u);
    return url.protocol === "http:" && isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}
