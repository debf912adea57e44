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
 * registrationDefaults adjusts a dynamic client registration (RFC 7591) body. A client that
 * does not say its application_type is a web client to the plugin, which then refuses
 * http://127.0.0.1:PORT/… redirect URIs — exactly what desktop hosts (Claude Code, VS Code, the
 * MCP SDKs) register (RFC 8252 loopback redirects). Such a client is a native one, so we say so.
 */
export function registrationDefaults(body) {
  if (!body || typeof body !== "object" || Array.isArray(body) || body.application_type !== undefined) return body;
  const uris = Array.isArray(body.redirect_uris) ? body.redirect_uris : [];
  const loopback = uris.some((u) => {
    try {
      const url = new URL(u);
      return url.protocol === "http:" && isLoopbackHost(url.hostname);
    } catch {
      return false;
    }
  });
  return loopback ? { ...body, application_type: "native" } : body;
}
