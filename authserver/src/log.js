// JSON-lines logging on stderr, in the shape the Go services use (time, level, msg, fields),
// so one log pipeline reads all three. Callers never pass tokens, passwords or query strings.
const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 };

/** createLogger returns {debug, info, warn, error}(msg, fields) writing at or above level. */
export function createLogger(level = "info", out = process.stderr) {
  const min = LEVELS[level] ?? LEVELS.info;
  const write = (lvl) => (msg, fields = {}) => {
    if (LEVELS[lvl] < min) return;
    out.write(JSON.stringify({ time: new Date().toISOString(), level: lvl.toUpperCase(), msg, ...fields }) + "\n");
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
