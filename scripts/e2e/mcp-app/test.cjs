// End-to-end test of the task-list MCP App in a real MCP Apps host: host.js (the official
// AppBridge and MCP client, bundled here by esbuild) runs in Debian's headless Chromium,
// loads the ui:// resource from a running mcpserver into a sandboxed iframe and hands it a
// real list_tasks result. The test then works the list like a user — tick, untick by
// keyboard, rename, cancel a rename with Escape, delete after confirming, page on to tasks
// the server sends later, meet a tool error — and checks every change in mcpserver itself
// with a separate MCP client. Screenshots of both themes go to ARTIFACTS.
//
// Env: MCP_URL (mcpserver's /mcp, dev mode: no token needed over loopback), ARTIFACTS
// (default test-artifacts/mcp-app), CHROMIUM (default /usr/bin/chromium), NODE_PATH (where
// package.json's dependencies are installed). Exit code 0 only when every step passed.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const esbuild = require('esbuild');
const { chromium } = require('playwright-core');
const { Client, StreamableHTTPClientTransport } = require('@modelcontextprotocol/client');

const MCP_URL = process.env.MCP_URL;
const ARTIFACTS = process.env.ARTIFACTS || 'test-artifacts/mcp-app';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const XSS_TITLE = 'Read <b>this</b> & <img src=x onerror="document.title=1">';
const PAGE_LIMIT = 8; // the host's list_tasks call asks for this many, so more remain
const FILLERS = 6; // extra tasks: more than fit in 500px, and some only on the server's next page

function step(msg) { console.log(`[mcp-app] ${msg}`); }

async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

// bundle builds host.js for the browser into dir.
async function bundle(dir) {
  const out = path.join(dir, 'host.js');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'host.js')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    outfile: out,
    nodePaths: (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean),
    logLevel: 'warning',
  });
  return fs.readFileSync(out);
}

// serve answers the host page, its bundle, and /mcp by forwarding to mcpserver — the way a
// web host's own backend talks to an MCP server (so without the browser's Origin).
function serve(hostJS) {
  const page = fs.readFileSync(path.join(__dirname, 'host.html'));
  const target = new URL(MCP_URL);
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      if (req.method === 'GET' && url.pathname === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page);
      } else if (req.method === 'GET' && url.pathname === '/host.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(hostJS);
      } else if (url.pathname === '/mcp') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const headers = {};
        for (const [k, v] of Object.entries(req.headers)) {
          if (!/^(host|origin|referer|cookie|connection|content-length|sec-|accept-encoding)/i.test(k)) headers[k] = v;
        }
        const upstream = await fetch(target, {
          method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined,
          signal: AbortSignal.timeout(20000),
        });
        const out = {};
        upstream.headers.forEach((v, k) => { if (!/^(content-length|content-encoding|transfer-encoding|connection)$/i.test(k)) out[k] = v; });
        res.writeHead(upstream.status, out).end(Buffer.from(await upstream.arrayBuffer()));
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      res.writeHead(502, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// tasks is the server's view, through a client of its own.
async function connectVerifier() {
  const client = new Client({ name: 'taskwire-e2e-verifier', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(MCP_URL)));
  const callOK = async (name, args) => {
    const res = await client.callTool({ name, arguments: args });
    if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.content)}`);
    return res.structuredContent;
  };
  return {
    client,
    callOK,
    async tasks() { return (await callOK('list_tasks', { status: 'all', limit: 100 })).tasks; },
    async task(id) { return (await this.tasks()).find((t) => t.task_id === id); },
  };
}

function isoDate(offsetDays) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  return d.toISOString().slice(0, 10);
}

// contrastProblems lists text in the app whose contrast with its background is below WCAG AA.
async function contrastProblems(frame) {
  return frame.locator('body').evaluate(() => {
    const parse = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.length >= 3 && (c.length < 4 || c[3] > 0)) return c;
      }
      return [255, 255, 255];
    };
    const problems = [];
    for (const el of document.querySelectorAll('h1, .count, label.title, .badge, .btn, .range, .notice p, .empty, .confirm span')) {
      if (!el.offsetParent || !el.textContent.trim()) continue;
      const a = lum(parse(getComputedStyle(el).color));
      const b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) problems.push(`${el.className || el.tagName} "${el.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
    }
    return problems;
  });
}

async function main() {
  if (!MCP_URL) throw new Error('MCP_URL is not set');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'taskwire-mcp-app-'));
  const server = await serve(await bundle(work));
  const hostURL = `http://127.0.0.1:${server.address().port}/`;
  const verifier = await connectVerifier();
  const context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 640, height: 640 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const blocked = [];
  const problems = [];
  let page;
  try {
    step('seed tasks in mcpserver');
    const seeded = {};
    for (const [title, extra] of [
      ['Buy milk', { due: isoDate(1), priority: 'high', tags: ['errands'] }],
      ['File taxes', { due: isoDate(-2), priority: 'medium', tags: ['home', 'money'] }],
      ['Call mom', {}],
      [XSS_TITLE, { priority: 'low' }],
      ['Water the plants', { due: `${isoDate(3)}T09:30:00Z` }],
      ['Book dentist', { tags: ['health'] }],
      ...Array.from({ length: FILLERS }, (_, i) => [`Errand ${i + 1}`, {}]),
    ]) {
      seeded[title] = (await verifier.callOK('add_task', { title, ...extra })).task_id;
    }

    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (LOOPBACK.has(u.hostname) || u.protocol === 'data:' || u.protocol === 'about:') return route.continue();
      blocked.push(u.href);
      return route.abort('internetdisconnected');
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content[- ]Security[- ]Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });

    step(`open the host at ${hostURL}`);
    const args = encodeURIComponent(JSON.stringify({ limit: PAGE_LIMIT }));
    await page.goto(`${hostURL}?theme=light&args=${args}`, { waitUntil: 'domcontentloaded' });
    await until('the host to hand the app its result', () => page.evaluate(() => {
      if (window.host && window.host.error) throw new Error(window.host.error);
      return window.host && window.host.ready;
    }), 20000);
    const resource = await page.evaluate(() => window.host.resource);
    const csp = resource.meta && resource.meta.ui && resource.meta.ui.csp;
    if (!/^ui:\/\/taskwire\/tasks-[0-9a-f]{16}\.html$/.test(resource.uri)) throw new Error(`app URI ${resource.uri}`);
    if (!csp || Object.values(csp).some((v) => !Array.isArray(v) || v.length)) throw new Error(`CSP is not deny-by-default: ${JSON.stringify(csp)}`);
    if (!resource.listed.some((r) => r.uri === resource.uri)) throw new Error('the app is not in resources/list');

    const app = page.frameLocator('iframe');
    const row = (title) => app.locator('li.task').filter({ has: app.locator('label.title', { hasText: title }) });
    const box = (title) => row(title).locator('input[type="checkbox"]');
    await until('the first page of rows', async () => (await app.locator('li.task').count()) > 3);
    const firstPage = await app.locator('li.task').count();
    if (firstPage >= PAGE_LIMIT) throw new Error(`${firstPage} rows on the first page: they cannot fit in 500px`);

    step('render: task data as text, badges, size within 500px without inner scrolling');
    const xss = await row('Read <b>').locator('label.title');
    if ((await xss.textContent()) !== XSS_TITLE || (await xss.locator('b, img').count()) !== 0) throw new Error('a title was rendered as HTML');
    const badgeText = await row('Buy milk').locator('.meta').textContent();
    if (!/Due/.test(badgeText) || !/High priority/.test(badgeText) || !/#errands/.test(badgeText)) throw new Error(`Buy milk badges: ${badgeText}`);
    if (!/Overdue/.test(await row('File taxes').locator('.meta').textContent())) throw new Error('File taxes is not shown overdue');
    const sizes = await page.evaluate(() => window.host.sizes);
    const frameBox = await page.locator('iframe').boundingBox();
    if (!sizes.length || Math.max(...sizes) > 500 || frameBox.height > 500) throw new Error(`app height ${frameBox.height}, sizes ${sizes}`);
    const scroll = await app.locator('html').evaluate((el) => [el.scrollHeight, el.clientHeight]);
    if (scroll[0] > scroll[1] + 1) throw new Error(`the app scrolls inside its frame: ${scroll}`);
    let bad = await contrastProblems(app);
    if (bad.length) throw new Error(`contrast below AA (light): ${bad.join('; ')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'light.png') });

    step('tick "Buy milk": complete_task reaches mcpserver');
    await box('Buy milk').click();
    await until('Buy milk ticked in the app', () => box('Buy milk').isChecked());
    await until('Buy milk done in mcpserver', async () => (await verifier.task(seeded['Buy milk'])).completed === true);
    const calls = await page.evaluate(() => window.host.calls);
    if (!calls.some((c) => c.name === 'complete_task' && c.arguments.task_id === seeded['Buy milk'] && c.arguments.completed === true)) {
      throw new Error(`the app did not call complete_task: ${JSON.stringify(calls)}`);
    }

    step('untick it with the keyboard (Space)');
    await box('Buy milk').focus();
    await page.keyboard.press('Space');
    await until('Buy milk pending in mcpserver', async () => (await verifier.task(seeded['Buy milk'])).completed === false);
    await until('Buy milk unticked in the app', async () => !(await box('Buy milk').isChecked()));
    if (!(await box('Buy milk').evaluate((el) => el === document.activeElement))) throw new Error('focus left the checkbox');

    step('rename "Call mom" (Enter saves)');
    await row('Call mom').getByRole('button', { name: /Rename/ }).click();
    const input = app.locator('li.task input[type="text"]');
    await input.fill('Call mom tonight');
    await input.press('Enter');
    await until('the new title in mcpserver', async () => (await verifier.task(seeded['Call mom'])).title === 'Call mom tonight');
    await row('Call mom tonight').waitFor();

    step('an empty title is refused in the app, without a call');
    const before = (await page.evaluate(() => window.host.calls)).length;
    await row('Book dentist').getByRole('button', { name: /Rename/ }).click();
    await input.fill('   ');
    await input.press('Enter');
    await until('a notice about the title', async () => /needs a title/.test(await app.locator('#notice').textContent()));
    if ((await page.evaluate(() => window.host.calls)).length !== before) throw new Error('an empty title was sent');
    await input.press('Escape');

    step('start renaming "File taxes", then Escape: nothing changes');
    await row('File taxes').getByRole('button', { name: /Rename/ }).click();
    await input.fill('zzz');
    await input.press('Escape');
    await until('the editor to close', async () => (await input.count()) === 0);
    if ((await verifier.task(seeded['File taxes'])).title !== 'File taxes') throw new Error('Escape still renamed the task');

    step('delete "File taxes" after confirming');
    await row('File taxes').getByRole('button', { name: /Delete/ }).click();
    const confirm = app.getByRole('group', { name: 'Confirm delete' });
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await until('File taxes gone from the app', async () => (await row('File taxes').count()) === 0);
    await until('File taxes gone from list_tasks', async () => !(await verifier.tasks()).some((t) => t.task_id === seeded['File taxes']));

    step('a task deleted elsewhere: ticking it shows the error and changes nothing');
    await verifier.callOK('delete_task', { task_id: seeded['Call mom'] });
    await box('Call mom tonight').click();
    const notice = app.locator('#notice[role="alert"]');
    await until('an error notice', () => notice.isVisible());
    if (!/not found|no task/i.test(await notice.textContent())) throw new Error(`notice: ${await notice.textContent()}`);
    if (await box('Call mom tonight').isChecked()) throw new Error('the failed tick changed the row');

    step('page on: rows that did not fit, then tasks from list_tasks with next_cursor');
    const last = `Errand ${FILLERS}`;
    const next = app.getByRole('button', { name: 'Next' });
    for (let pages = 0; !(await row(last).count()) && pages < 5; pages++) {
      await next.click();
      await until('the next page', async () => (await row(last).count()) > 0 || !(await next.isDisabled({ timeout: 1000 })));
    }
    await row(last).waitFor();
    await app.getByRole('button', { name: 'Previous' }).click();
    await until('back on the first page', async () => /^1–/.test(await app.locator('#range').textContent()));
    const afterCalls = await page.evaluate(() => window.host.calls);
    if (!afterCalls.some((c) => c.name === 'list_tasks' && typeof c.arguments.cursor === 'string' && c.arguments.limit === PAGE_LIMIT)) {
      throw new Error(`no list_tasks call with a cursor and the host's filters: ${JSON.stringify(afterCalls)}`);
    }

    step('dark theme from the host context');
    await page.evaluate(() => window.host.setTheme('dark'));
    await until('the app in dark theme', () => app.locator('html[data-theme="dark"]').count());
    bad = await contrastProblems(app);
    if (bad.length) throw new Error(`contrast below AA (dark): ${bad.join('; ')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dark.png') });

    step('one task: the result of add_task is a single row that can be ticked');
    const single = encodeURIComponent(JSON.stringify({ title: 'Plan the trip', due: isoDate(7) }));
    await page.goto(`${hostURL}?theme=light&tool=add_task&args=${single}`, { waitUntil: 'domcontentloaded' });
    await until('the host to hand the app its result', () => page.evaluate(() => window.host.ready));
    await until('one row', async () => (await app.locator('li.task').count()) === 1);
    const heading = await app.locator('#heading').textContent();
    const planned = (await verifier.tasks()).find((t) => t.title === 'Plan the trip');
    if (!planned || heading !== `Task ${planned.task_id}`) throw new Error(`single view heading ${heading}`);
    await box('Plan the trip').click();
    await until('Plan the trip done in mcpserver', async () => (await verifier.task(planned.task_id)).completed === true);
    await until('Plan the trip ticked in the app', () => box('Plan the trip').isChecked());
    await page.screenshot({ path: path.join(ARTIFACTS, 'single.png') });

    step('fields the result carries: a repeat rule, and a deleted task');
    const shown = { ...(await verifier.task(planned.task_id)), completed: false, repeat: 'FREQ=WEEKLY;INTERVAL=2' };
    await page.evaluate((task) => window.host.showResult({ content: [{ type: 'text', text: JSON.stringify(task) }], structuredContent: task }), shown);
    await until('the repeat badge', async () => /Every 2 weeks/.test(await row('Plan the trip').locator('.meta').textContent()));
    await page.evaluate((id) => window.host.showResult({ content: [{ type: 'text', text: '{}' }],
      structuredContent: { task_id: id, title: 'Plan the trip', deleted: true } }), planned.task_id);
    await until('the deleted view', async () => (await app.locator('li.task').textContent()) === 'Deleted: Plan the trip');
    if (await app.locator('li.task button, li.task input').count()) throw new Error('a deleted task still has controls');

    if (blocked.length) throw new Error(`requests left loopback: ${blocked.join(', ')}`);
    if (problems.length) throw new Error(problems.join('\n'));
    step('ok');
  } catch (err) {
    if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') }).catch(() => {});
    if (problems.length) console.error(problems.join('\n'));
    throw err;
  } finally {
    await context.close();
    await verifier.client.close();
    server.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`[mcp-app] FAILED: ${err.stack || err}`);
  process.exit(1);
});
