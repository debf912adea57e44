// What the page tests share (required with a relative path, so each test keeps its own pinned
// playwright-core): Debian's Chromium, headless, in a throwaway profile, with only loopback
// reachable — everything else, the ChatKit CDN first, fails at once — a screenshot when the
// test fails, and a failure when the page threw an uncaught error.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

// Chromium's flags for a closed network: no background fetches that would fail by the dozen.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// withPage runs test(page, blocked) in a fresh browser. blocked lists the URLs refused so far.
// options: chromium (playwright-core's), artifacts (screenshot folder), executablePath, and
// contextOptions merged into the browser context's (a time zone, say).
async function withPage({ chromium, artifacts, executablePath, contextOptions }, test) {
  fs.mkdirSync(artifacts, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskwire-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1100, height: 800 },
    ...contextOptions,
    args: FLAGS,
  });
  const blocked = [];
  const pageErrors = [];
  let page;
  try {
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (LOOPBACK.has(host)) return route.continue();
      blocked.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await test(page, blocked);
    if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  } catch (err) {
    if (page) await page.screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

module.exports = { withPage };
