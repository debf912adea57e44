// The Better Auth instance: email + password accounts and sessions, the JWT plugin (the signing
// keys behind /api/auth/jwks, and session JWTs for the chat page at /api/auth/token) and the
// OAuth 2.1 provider plugin (the authorization server MCP hosts use to reach mcpserver).
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { jwt } from "better-auth/plugins";
import { oauthProvider } from "@better-auth/oauth-provider";
import pg from "pg";

/** The scopes mcpserver understands, plus offline_access, without which no refresh token is issued. */
export const SCOPES = ["tasks:read", "tasks:write", "offline_access"];

/** DB_SCHEMA keeps Better Auth's tables apart from the task and chat tables in the same database. */
export const DB_SCHEMA = "auth";

/** Paths of the service's own no-JavaScript pages (see pages.js). */
export const SIGN_IN_PATH = "/sign-in";
export const CONSENT_PATH = "/consent";

/** Session JWTs for the chat page live 15 minutes; the page fetches a new one before expiry. */
const SESSION_JWT_TTL = "15m";

/** createPool opens the PostgreSQL pool, every connection confined to DB_SCHEMA. */
export function createPool(cfg) {
  return new pg.Pool({
    connectionString: cfg.databaseURL,
    options: `-c search_path=${DB_SCHEMA}`,
    max: 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
}

/** createAuth builds the Better Auth instance for cfg (see config.js) over pool. */
export function createAuth(cfg, pool, logger) {
  return betterAuth(authOptions(cfg, pool, logger));
}

/** authOptions is the Better Auth configuration; migrate needs it before the instance exists. */
export function authOptions(cfg, pool, logger) {
  return {
    appName: "taskwire",
    baseURL: cfg.baseURL,
    basePath: "/api/auth",
    secret: cfg.secret,
    database: pool,
    trustedOrigins: [cfg.baseURL, ...cfg.trustedOrigins],
    emailAndPassword: { enabled: true, minPasswordLength: 8, maxPasswordLength: 128, autoSignIn: true },
    telemetry: { enabled: false },
    // Errors that cannot go back to a client (unknown client, unregistered redirect URI) are
    // shown on our own page.
    onAPIError: { errorURL: cfg.baseURL + "/error" },
    logger: {
      level: cfg.logLevel === "debug" ? "debug" : "warn",
      // The message only: arguments can hold request data.
      log: (level, message) => (logger[level] ?? logger.error)("better-auth: " + message),
    },
    plugins: [
      jwt({
        // One issuer for both token kinds (session JWTs and OAuth access tokens): the Go
        // services check iss = BETTER_AUTH_URL.
        jwt: {
          issuer: cfg.baseURL,
          audience: cfg.baseURL,
          expirationTime: SESSION_JWT_TTL,
          // sub (the user id) is all the services need; no e-mail or name in tokens.
          definePayload: () => ({}),
        },
        jwks: { keyPairConfig: { alg: "EdDSA", crv: "Ed25519" } },
      }),
      oauthProvider({
        loginPage: cfg.baseURL + SIGN_IN_PATH,
        consentPage: cfg.baseURL + CONSENT_PATH,
        scopes: SCOPES,
        // Tokens for mcpserver: the resource (RFC 8707) becomes the access token's aud.
        resources: [cfg.mcpPublicURL],
        resourceSeedMode: "merge",
        // One protected resource: every client may ask for it, no per-client linking.
        enforcePerClientResources: false,
        allowDynamicClientRegistration: true,
        allowUnauthenticatedClientRegistration: true,
        grantTypes: ["authorization_code", "refresh_token"],
        accessTokenExpiresIn: cfg.accessTokenTTL,
        // A rotated refresh token used again revokes the whole family at once.
        refreshTokenReuseInterval: 0,
      }),
    ],
  };
}

/**
 * migrate creates or updates Better Auth's tables (its programmatic migrations) under a
 * PostgreSQL advisory lock, so several replicas can start at the same time. It runs before the
 * instance is built, which otherwise reports the tables it finds missing.
 */
export async function migrate(options, pool) {
  const lockClient = await pool.connect();
  try {
    await lockClient.query("SELECT pg_advisory_lock(hashtext('taskwire-authserver-migrate'))");
    await lockClient.query(`CREATE SCHEMA IF NOT EXISTS ${DB_SCHEMA}`);
    const { runMigrations } = await getMigrations(options);
    await runMigrations();
  } finally {
    await lockClient.query("SELECT pg_advisory_unlock(hashtext('taskwire-authserver-migrate'))").catch(() => {});
    lockClient.release();
  }
}
