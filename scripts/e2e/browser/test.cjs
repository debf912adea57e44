// Browser test of chatproxy's page: Debian's chromium, headless, no network but loopback.
// The ChatKit CDN is unreachable by construction, so the page must fall back to its built-in
// chat; through it we add a task and watch it appear in the task panel.
//
// Env: TASKWIRE_URL (the page), ARTIFACTS (screenshots; default test-artifacts/browser),
// CHROMIUM (default /usr/bin/chromium). Exit code 0 only when every step passed.
'use strict';

const { chromium } = require('playwright-core');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const url = process.env.TASKWIRE_URL;
const artifacts = process.env.ARTIFACTS || 'test-artifacts/browser';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function step(msg) { console.log(`[browser] ${msg}`); }

async function main() {
  if (!url) throw new Error('TASKWIRE_URL is not set');
  fs.mkdirSync(artifacts, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskwire-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1100, height: 800 },
    timezoneId: 'Pacific/Auckland', // far from UTC, so a missing time zone would show
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const blocked = [];
  const pageErrors = [];
  let page;
  try {
    // Only loopback may be reached: everything else (the ChatKit CDN first) fails at once.
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (LOOPBACK.has(host)) return route.continue();
      blocked.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));

    step(`open ${url}`);
    const resp = await page.goto(url, { waitUntil: 'domcontentloaded' });
    if (!resp || resp.status() !== 200) throw new Error(`GET / answered ${resp && resp.status()}`);
    const csp = resp.headers()['content-security-policy'] || '';
    if (!csp.includes("default-src 'self'")) throw new Error(`page has no CSP: ${csp}`);

    step('wait for the built-in chat (the CDN is blocked)');
    await page.waitForSelector('body[data-chat-mode="fallback"]', { timeout: 15000 });
    if (!blocked.some((u) => u.startsWith('https://cdn.platform.openai.com/'))) {
      throw new Error(`the page never tried the ChatKit CDN; blocked: ${blocked.join(', ')}`);
    }

    step('wait for the task panel (dev token + GET /api/tasks)');
    await page.waitForFunction(() => /task/i.test(document.getElementById('tasks-status').textContent), null, { timeout: 15000 });

    step('send "add a task to buy milk"');
    const chatRequest = page.waitForRequest((r) => r.url().endsWith('/api/chat') && r.method() === 'POST');
    const input = page.getByLabel('Your message');
    await input.fill('add a task to buy milk');
    await input.press('Enter');

    const zone = (await chatRequest).headers()['x-timezone'];
    if (zone !== 'Pacific/Auckland') throw new Error(`the chat request carried X-Timezone ${zone}, want the browser's Pacific/Auckland`);

    step('wait for the reply');
    const reply = page.locator('#chat-log .msg-assistant, #chat-log .msg-error').first();
    await reply.waitFor({ timeout: 30000 });
    const cls = await reply.getAttribute('class');
    const text = (await reply.textContent()).trim();
    if (cls.includes('msg-error')) throw new Error(`the chat answered with an error: ${text}`);
    if (!text.replace(/^Assistant:\s*/, '')) throw new Error('empty reply');
    step(`reply: ${text}`);

    step('wait for "buy milk" in the task panel');
    await page.locator('#task-list li', { hasText: /buy milk/i }).first().waitFor({ timeout: 15000 });
    if (await page.locator('#chat-input').evaluate((el) => el !== document.activeElement)) {
      throw new Error('focus did not return to the message box after the reply');
    }

    await page.screenshot({ path: path.join(artifacts, 'fallback-chat.png'), fullPage: true });

    step('check the layout at a phone width');
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) throw new Error(`page scrolls sideways by ${overflow}px at 375px width`);
    await page.screenshot({ path: path.join(artifacts, 'fallback-chat-mobile.png'), fullPage: true });

    if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
    step(`ok; screenshots in ${artifacts}`);
  } catch (err) {
    if (page) await page.screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`[browser] FAILED: ${err.message}`);
  process.exit(1);
});
