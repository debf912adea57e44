// Configuration of the auth service, from the environment only, validated once at start so a
// mistake stops the process with a message that names the variable at fault.

/** Shorter secrets are within brute-force reach; the Go services apply the same floor. */
export const MIN_SECRET_LENGTH = 32;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** isLoopbackHost says whether a URL hostname (or AUTH_HOST value) names this machine only. */
export function isLoopbackHost(host) {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Reads and checks the configuration. `env` is process.env in production and a plain object in
 * tests. Throws an Error whose message starts with the variable's name.
 */
export function loadConfig(env) {
  const get = (name, def) => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? def : v.trim();
  };

  const host = get("AUTH_HOST", "127.0.0.1");
  const port = parsePort("AUTH_PORT", get("AUTH_PORT", "8002"));
  const baseURL = parseOrigin("BETTER_AUTH_URL", get("BETTER_AUTH_URL", "http://127.0.0.1:8002"));

  const databaseURL = get("DATABASE_URL");
  if (!databaseURL) {
    throw new Error("DATABASE_URL is required (e.g. postgres://user:pass@localhost:5432/taskwire)");
  }
  if (!/^postgres(ql)?:\/\//.test(databaseURL)) {
    throw new Error("DATABASE_URL must be a postgres:// or postgresql:// URL");
  }

  const secret = get("BETTER_AUTH_SECRET");
  if (!secret) {
    throw new Error("BETTER_AUTH_SECRET is required (at least 32 characters; the Go services use the same value)");
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`BETTER_AUTH_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  }

  const mcpPublicURL = parseResource("MCP_PUBLIC_URL", get("MCP_PUBLIC_URL", "http://127.0.0.1:8001/mcp"));

  const trustedOrigins = get("AUTH_TRUSTED_ORIGINS", "http://127.0.0.1:8000")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((o) => parseOrigin("AUTH_TRUSTED_ORIGINS", o));

  const accessTokenTTL = parseSeconds("AUTH_ACCESS_TOKEN_TTL", get("AUTH_ACCESS_TOKEN_TTL", "3600"));
  const environment = get("ENVIRONMENT", "development");
  const base = new URL(baseURL);
  if (environment === "production" && base.protocol !== "https:" && !isLoopbackHost(base.hostname)) {
    throw new Error("BETTER_AUTH_URL must be https:// when ENVIRONMENT=production (cookies and OAuth redirects need it); only a loopback URL may be http");
  }

  return {
    host,
    port,
    baseURL,
    databaseURL,
    secret,
    mcpPublicURL,
    trustedOrigins: [...new Set(trustedOrigins)],
    accessTokenTTL,
    environment,
    logLevel: parseLevel(get("LOG_LEVEL", "info")),
  };
}

function parseLevel(v) {
  const level = v.toLowerCase();
  if (!["debug", "info", "warn", "error"].includes(level)) throw new Error(`LOG_LEVEL=${JSON.stringify(v)} must be debug, info, warn or error`);
  return level;
}

function parsePort(name, v) {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`${name}=${JSON.stringify(v)} is not a port number (0-65535)`);
  return n;
}

function parseSeconds(name, v) {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 60 || n > 86400) throw new Error(`${name}=${JSON.stringify(v)} must be a whole number of seconds between 60 and 86400`);
  return n;
}

/** parseOrigin accepts scheme://host[:port] with no path, query or fragment, and returns it normalised. */
function parseOrigin(name, v) {
  let u;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`${name}: ${JSON.stringify(v)} is not an absolute URL (e.g. http://127.0.0.1:8002)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`${name}: ${JSON.stringify(v)} must be http:// or https://`);
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash || u.username || u.password) {
    throw new Error(`${name}: ${JSON.stringify(v)} must be an origin only (scheme://host[:port]), without a path`);
  }
  return u.origin;
}

/**
 * parseResource accepts the canonical URI of a protected resource (RFC 8707: absolute, no
 * fragment); the trailing slash is dropped, as MCP clients send the URL without it.
 */
function parseResource(name, v) {
  let u;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`${name}: ${JSON.stringify(v)} is not an absolute URL (e.g. https://tasks.example.com/mcp)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`${name}: ${JSON.stringify(v)} must be http:// or https://`);
  if (u.hash || u.search || u.username || u.password) throw new Error(`${name}: ${JSON.stringify(v)} must not have a query, fragment or credentials`);
  return u.href.replace(/\/$/, "");
}
