// The container's health probe (distroless has no shell or curl): exits 0 when the auth
// service on AUTH_PORT answers GET /health with 200 within 3 seconds.
const port = process.env.AUTH_PORT || "8002";
fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) }).then(
  (r) => process.exit(r.ok ? 0 : 1),
  () => process.exit(1),
);
