// Browser test of the page's sign-in against the real auth service: Debian's chromium,
// headless, loopback only. A new user signs up in the page's own form, signs out, fails with
// a wrong password, signs in again, chats "add a task to buy milk" (the fake model) and sees
// the task in the panel — every request carrying the auth service's JWT, no dev token used.
//
// Run by 35-auth-page.sh through 90-browser.sh. Env: TASKWIRE_URL (the page), ARTIFACTS
// (screenshots; default test-artifacts/auth-page), CHROMIUM (default /usr/bin/chromium). The
// auth service's URL is read from the page's own configuration.
'use strict';

const { chromium } = require('playwright-core');
const path = require('node:path');
const { withPage } = require('../chromium.cjs');

const url = process.env.TASKWIRE_URL;
const artifacts = process.env.ARTIFACTS || 'test-artifacts/auth-page';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function step(msg) { console.log(`[auth-page] ${msg}`); }

function jwtPayload(authorization) {
  const token = (authorization || '').replace(/^Bearer /, '');
  return JSON.parse(Buffer.from(token.split('.')[1] || '', 'base64url').toString() || '{}');
}

async function main() {
  if (!url) throw new Error('TASKWIRE_URL is not set');
  const devTokenRequests = [];
  await withPage({ chromium, artifacts, executablePath }, async (page) => {
    page.on('request', (r) => { if (r.url().includes('/api/dev/token')) devTokenRequests.push(r.url()); });

    step(`open ${url}`);
    const resp = await page.goto(url, { waitUntil: 'domcontentloaded' });
    const authURL = await page.evaluate(() => (window.TASKWIRE_CONFIG || {}).authURL);
    if (!authURL) throw new Error('the page has no auth service configured (TASKWIRE_CONFIG.authURL)');
    const csp = resp.headers()['content-security-policy'] || '';
    if (!csp.includes(`connect-src 'self' https://*.openai.com ${authURL}`)) throw new Error(`CSP does not let the page reach the auth service: ${csp}`);

    step('the sign-in form appears (no session yet)');
    await page.locator('#auth-form').waitFor({ state: 'visible', timeout: 15000 });
    const email = `milk-${Date.now()}@example.com`;
    const password = 'a long enough password';

    step(`sign up as ${email}`);
    await page.getByLabel('Name (for a new account)').fill('Mia Milk');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password (at least 8 characters)').fill(password);
    await page.locator('#auth-sign-up').click();
    await page.locator('#auth-user', { hasText: `Signed in as ${email}` }).waitFor({ timeout: 15000 });

    step('sign out');
    await page.locator('#auth-sign-out').click();
    await page.locator('#auth-form').waitFor({ state: 'visible', timeout: 15000 });

    step('a wrong password is refused');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password (at least 8 characters)').fill('not the password');
    await page.locator('#auth-sign-in').click();
    await page.locator('#auth-message', { hasText: /invalid|wrong|password/i }).waitFor({ timeout: 15000 });
    if (await page.locator('#auth-user').isVisible()) throw new Error('signed in with a wrong password');

    step('sign in');
    await page.getByLabel('Password (at least 8 characters)').fill(password);
    const tasksRequest = page.waitForRequest((r) => r.url().endsWith('/api/tasks'), { timeout: 15000 });
    await page.locator('#auth-sign-in').click();
    await page.locator('#auth-user', { hasText: `Signed in as ${email}` }).waitFor({ timeout: 15000 });
    const claims = jwtPayload((await tasksRequest).headers().authorization);
    if (claims.iss !== authURL || claims.aud !== authURL || !claims.sub || claims.sub === 'dev-user') {
      throw new Error(`the page called /api/tasks with ${JSON.stringify(claims)}, want the auth service's JWT for the signed-in user`);
    }
    step(`the page's token: sub ${claims.sub}, iss ${claims.iss}, expires in ${claims.exp - Math.floor(Date.now() / 1000)} s`);

    step('wait for the built-in chat (the ChatKit CDN is blocked)');
    await page.waitForSelector('body[data-chat-mode="fallback"]', { timeout: 15000 });
    step('send "add a task to buy milk"');
    // The built-in chat speaks the ChatKit protocol on /chatkit, like ChatKit.js would.
    const chatRequest = page.waitForRequest((r) => r.url().endsWith('/chatkit') && r.method() === 'POST');
    const input = page.getByLabel('Your message');
    await input.fill('add a task to buy milk');
    await input.press('Enter');
    if (jwtPayload((await chatRequest).headers().authorization).sub !== claims.sub) throw new Error('the chat request was not made as the signed-in user');
    const reply = page.locator('#chat-log .msg-assistant, #chat-log .msg-error').first();
    await reply.waitFor({ timeout: 30000 });
    if ((await reply.getAttribute('class')).includes('msg-error')) throw new Error(`the chat answered with an error: ${await reply.textContent()}`);

    step('wait for "buy milk" in the task panel');
    await page.locator('#task-list li', { hasText: /buy milk/i }).first().waitFor({ timeout: 15000 });
    await page.screenshot({ path: path.join(artifacts, 'signed-in-chat.png'), fullPage: true });

    if (devTokenRequests.length) throw new Error(`the page asked for a dev token: ${devTokenRequests.join(', ')}`);
  });
  step(`ok; screenshot in ${artifacts}`);
}

main().catch((err) => {
  console.error(`[auth-page] FAILED: ${err.message}`);
  process.exit(1);
});
