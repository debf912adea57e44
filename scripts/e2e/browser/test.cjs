// Browser test of chatproxy's page: Debian's chromium, headless, no network but loopback.
// The ChatKit CDN is unreachable by construction, so the page must fall back to its built-in
// chat, which speaks the ChatKit protocol on /chatkit. Through it we add tasks and watch them
// appear in the task panel; tick one in the panel (by keyboard) and see "show my tasks" draw
// it done in a task widget; tick, and delete (after its confirmation), a task in the widget;
// rename a task and undo a delete in the panel.
//
// Env: TASKWIRE_URL (the page), ARTIFACTS (screenshots; default test-artifacts/browser),
// CHROMIUM (default /usr/bin/chromium). Exit code 0 only when every step passed.
'use strict';

const { chromium } = require('playwright-core');
const path = require('node:path');
const { withPage } = require('../chromium.cjs');

const url = process.env.TASKWIRE_URL;
const artifacts = process.env.ARTIFACTS || 'test-artifacts/browser';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function step(msg) { console.log(`[browser] ${msg}`); }

// say sends a message through the built-in chat.
async function say(page, text) {
  const input = page.getByLabel('Your message');
  await input.fill(text);
  await input.press('Enter');
}

// lastReply waits for the n-th assistant reply (or an error) and returns its text.
async function lastReply(page, n) {
  const replies = page.locator('#chat-log .msg-assistant, #chat-log .msg-error');
  await page.waitForFunction((n) => {
    const els = document.querySelectorAll('#chat-log .msg-assistant, #chat-log .msg-error');
    return els.length >= n && document.getElementById('chat-form').getAttribute('aria-busy') !== 'true';
  }, n, { timeout: 30000 });
  const reply = replies.nth(n - 1);
  const cls = await reply.getAttribute('class');
  const text = (await reply.textContent()).trim();
  if (cls.includes('msg-error')) throw new Error(`the chat answered with an error: ${text}`);
  if (!text.replace(/^Assistant:\s*/, '')) throw new Error('empty reply');
  return text;
}

// panelRow is the task panel's row for a title.
function panelRow(page, title) {
  return page.locator('#task-list li.task', { hasText: title }).first();
}

async function main() {
  if (!url) throw new Error('TASKWIRE_URL is not set');
  // A time zone far from UTC, so a missing one would show.
  const contextOptions = { timezoneId: 'Pacific/Auckland' };
  await withPage({ chromium, artifacts, executablePath, contextOptions }, async (page, blocked) => {
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
    const chatRequest = page.waitForRequest((r) => r.url().endsWith('/chatkit') && r.method() === 'POST');
    await say(page, 'add a task to buy milk');

    const zone = (await chatRequest).headers()['x-timezone'];
    if (zone !== 'Pacific/Auckland') throw new Error(`the chat request carried X-Timezone ${zone}, want the browser's Pacific/Auckland`);

    step('wait for the reply');
    const text = await lastReply(page, 1);
    step(`reply: ${text}`);

    step('wait for "buy milk" in the task panel');
    await panelRow(page, /buy milk/i).waitFor({ timeout: 15000 });
    if (await page.locator('#chat-input').evaluate((el) => el !== document.activeElement)) {
      throw new Error('focus did not return to the message box after the reply');
    }
    await page.screenshot({ path: path.join(artifacts, 'fallback-chat.png'), fullPage: true });

    await say(page, 'add a task to call mom');
    await lastReply(page, 2);
    await panelRow(page, /call mom/i).waitFor({ timeout: 15000 });

    step('tick "buy milk" in the panel, by keyboard');
    await panelRow(page, /buy milk/i).getByRole('checkbox').focus();
    await page.keyboard.press('Space');
    await page.locator('#task-list li.task-done', { hasText: /buy milk/i }).waitFor({ timeout: 15000 });

    step('"show my tasks" draws a widget with "buy milk" done');
    await say(page, 'show my tasks');
    await lastReply(page, 3);
    const widget = page.locator('#chat-log .msg-widget').last();
    await widget.waitFor({ timeout: 15000 });
    const milkBox = widget.getByRole('checkbox', { name: /buy milk/i });
    if (!(await milkBox.isChecked())) throw new Error('the widget shows "buy milk" open after it was ticked in the panel');
    const momBox = widget.getByRole('checkbox', { name: /call mom/i });
    if (await momBox.isChecked()) throw new Error('the widget shows "call mom" done before anyone ticked it');

    step('tick "call mom" in the widget (threads.custom_action)');
    const action = page.waitForRequest((r) => r.url().endsWith('/chatkit') && (r.postData() || '').includes('threads.custom_action'));
    await momBox.check();
    await action;
    await page.waitForFunction(() => {
      const w = [...document.querySelectorAll('#chat-log .msg-widget')].pop();
      const box = w && [...w.querySelectorAll('label')].find((l) => /call mom/i.test(l.textContent));
      return box && box.querySelector('input').checked && !w.hasAttribute('aria-busy');
    }, null, { timeout: 15000 });
    // tasks.changed refreshes the panel.
    await page.locator('#task-list li.task-done', { hasText: /call mom/i }).waitFor({ timeout: 15000 });
    await page.screenshot({ path: path.join(artifacts, 'widget.png'), fullPage: true });

    step('delete "call mom" from the widget, confirming');
    const lastWidget = () => page.locator('#chat-log .msg-widget').last();
    await lastWidget().getByRole('button', { name: /^Delete: call mom$/i }).click();
    const confirmRow = lastWidget().locator('li', { hasText: /Delete ‘call mom’\?/i });
    await confirmRow.waitFor({ timeout: 15000 });
    await page.screenshot({ path: path.join(artifacts, 'widget-confirm.png'), fullPage: true });
    await confirmRow.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForFunction(() => {
      const w = [...document.querySelectorAll('#chat-log .msg-widget')].pop();
      return w && !w.hasAttribute('aria-busy') && ![...w.querySelectorAll('input[type=checkbox]')].some((b) => /call mom/i.test(b.parentNode.textContent));
    }, null, { timeout: 15000 });
    await page.waitForFunction(() => ![...document.querySelectorAll('#task-list li:not(.task-deleted)')].some((li) => /call mom/i.test(li.textContent)), null, { timeout: 15000 });

    step('rename "buy milk" in the panel');
    await panelRow(page, /buy milk/i).getByRole('button', { name: /edit/i }).click();
    const titleBox = page.getByLabel(/new title for task/i);
    await titleBox.fill('buy oat milk');
    await titleBox.press('Enter');
    await panelRow(page, /buy oat milk/i).waitFor({ timeout: 15000 });

    step('delete "buy oat milk" in the panel and undo it');
    await panelRow(page, /buy oat milk/i).getByRole('button', { name: /delete/i }).click();
    const undo = page.getByRole('button', { name: /undo deleting/i });
    await undo.waitFor({ timeout: 5000 });
    await page.screenshot({ path: path.join(artifacts, 'panel-undo.png'), fullPage: true });
    await undo.click();
    await page.waitForTimeout(7000); // longer than the undo window: a delayed delete must not happen
    await panelRow(page, /buy oat milk/i).waitFor({ timeout: 15000 });
    if (await page.locator('#task-list li.task-deleted').count() !== 0) throw new Error('an undo row is left after the undo');

    step('dark theme');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(artifacts, 'dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });

    step('check the layout at a phone width');
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) throw new Error(`page scrolls sideways by ${overflow}px at 375px width`);
    await page.screenshot({ path: path.join(artifacts, 'fallback-chat-mobile.png'), fullPage: true });
  });
  step(`ok; screenshots in ${artifacts}`);
}

main().catch((err) => {
  console.error(`[browser] FAILED: ${err.message}`);
  process.exit(1);
});
