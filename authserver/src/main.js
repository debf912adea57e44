// Command authserver is taskwire's auth service: Better Auth accounts and sessions, the JWKS
// that mcpserver and chatproxy verify tokens with, and an OAuth 2.1 authorization server so
// MCP hosts (Claude, ChatGPT, VS Code) can add mcpserver by its URL. Configuration comes from
// the environment (config.js); docs/auth.md describes the whole service.
import { readFileSync } from "node:fs";
import { authOptions, createPool, migrate } from "./auth.js";
import { betterAuth } from "better-auth";
import { loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { createServer } from "./server.js";

const SHUTDOWN_DEFAULT_MS = 25_000;

async function main() {
  let cfg;
  try {
    cfg = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`authserver: ${err.message}\n`);
    return 2;
  }
  const logger = createLogger(cfg.logLevel);
  const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version || "dev";
  const pool = createPool(cfg);
  pool.on("error", (err) => logger.warn("idle database connection failed", { error: err.message }));
  const options = authOptions(cfg, pool, logger);
  try {
    await migrate(options, pool);
  } catch (err) {
    logger.error("database migration failed (is DATABASE_URL right and PostgreSQL up?)", { error: err.message });
    await pool.end().catch(() => {});
    return 1;
  }

  const auth = betterAuth(options);
  const state = { draining: false };
  const server = createServer({ cfg, auth, pool, logger, version, state });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.port, cfg.host, resolve);
  }).catch((err) => {
    logger.error(`listen on AUTH_HOST:AUTH_PORT ${cfg.host}:${cfg.port} failed`, { error: err.message });
    throw err;
  });
  const addr = server.address();
  logger.info("authserver listening", { addr: `${addr.address}:${addr.port}`, base_url: cfg.baseURL, mcp_resource: cfg.mcpPublicURL });

  const shutdownMs = parseShutdown(process.env.SHUTDOWN_TIMEOUT);
  await new Promise((resolve) => {
    const stop = (signal) => {
      if (state.draining) return;
      state.draining = true;
      logger.info("shutting down", { signal });
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => {
        server.closeAllConnections();
        resolve();
      }, shutdownMs).unref();
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
  await pool.end().catch(() => {});
  return 0;
}

/** parseShutdown reads SHUTDOWN_TIMEOUT like the Go services do ("25s", "500ms" or seconds). */
function parseShutdown(v) {
  if (!v) return SHUTDOWN_DEFAULT_MS;
  const m = /^(\d+)(ms|s)?$/.exec(v.trim());
  if (!m) return SHUTDOWN_DEFAULT_MS;
  return m[2] === "ms" ? Number(m[1]) : Number(m[1]) * 1000;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`authserver: ${err?.stack || err}\n`);
    process.exit(1);
  },
);
