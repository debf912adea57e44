// Prints a JWT with the given claims (JSON, argv[2]) signed by the auth service's own current
// key — the real signing code of Better Auth's JWT plugin over the same database — so the test
// can present mcpserver with tokens that are genuine but expired or meant for someone else.
// Env: the auth service's DATABASE_URL, BETTER_AUTH_SECRET, BETTER_AUTH_URL, MCP_PUBLIC_URL.
import { createAuth, createPool } from "../../../authserver/src/auth.js";
import { loadConfig } from "../../../authserver/src/config.js";
import { createLogger } from "../../../authserver/src/log.js";

const cfg = loadConfig(process.env);
const pool = createPool(cfg);
try {
  const auth = createAuth(cfg, pool, createLogger("error"));
  const { token } = await auth.api.signJWT({ body: { payload: JSON.parse(process.argv[2]) } });
  process.stdout.write(token + "\n");
} finally {
  await pool.end();
}
