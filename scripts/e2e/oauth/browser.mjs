// A tiny browser for the auth service's no-JavaScript pages: a cookie jar, redirects followed
// by hand (so the final redirect to a client's callback is seen, not fetched), and the sign-in,
// sign-up and consent forms filled in the way a person would.
const AUTH_URL = process.env.AUTH_URL;

export class Browser {
  constructor() { this.cookies = new Map(); }
  cookieHeader() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "); }
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers || {});
    if (new URL(url).origin === AUTH_URL && this.cookies.size) headers.set("cookie", this.cookieHeader());
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === "" || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
  postForm(url, fields) {
    return this.fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: AUTH_URL }, body: new URLSearchParams(fields).toString() });
  }
}

function hiddenField(html, name) {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return m ? decodeEntities(m[1]) : null;
}
function decodeEntities(s) {
  return s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, "&");
}

/**
 * authorizeInBrowser follows an authorization URL the way a person would: sign up (or in) on
 * the sign-in page, allow on the consent page, until the auth service redirects to the
 * client's redirect URI. Returns that final URL and what was seen on the way.
 */
export async function authorizeInBrowser(browser, url, account, { signUp = false, denyConsent = false } = {}) {
  const seen = { consentHTML: null, signInHTML: null, statuses: [] };
  let next = url;
  for (let i = 0; i < 12; i++) {
    const res = await browser.fetch(next);
    seen.statuses.push(res.status);
    if (res.status >= 300 && res.status < 400) {
      const loc = new URL(res.headers.get("location"), next).href;
      if (!loc.startsWith(AUTH_URL)) return { final: loc, seen };
      next = loc;
      continue;
    }
    const html = await res.text();
    const path = new URL(next).pathname;
    if (res.status === 200 && path === "/sign-in") {
      seen.signInHTML = html;
      const oauthQuery = hiddenField(html, "oauth_query");
      const r = await browser.postForm(`${AUTH_URL}${signUp ? "/sign-up" : "/sign-in"}`, { ...account, oauth_query: oauthQuery });
      seen.statuses.push(r.status);
      if (r.status !== 302) return { final: null, seen, error: `${signUp ? "sign-up" : "sign-in"} answered ${r.status}: ${(await r.text()).slice(0, 300)}` };
      next = new URL(r.headers.get("location"), AUTH_URL).href;
      if (!next.startsWith(AUTH_URL)) return { final: next, seen };
      continue;
    }
    if (res.status === 200 && path === "/consent") {
      seen.consentHTML = html;
      const r = await browser.postForm(`${AUTH_URL}/consent`, { oauth_query: hiddenField(html, "oauth_query"), accept: denyConsent ? "no" : "yes" });
      seen.statuses.push(r.status);
      if (r.status !== 302) return { final: null, seen, error: `consent answered ${r.status}: ${(await r.text()).slice(0, 300)}` };
      next = new URL(r.headers.get("location"), AUTH_URL).href;
      if (!next.startsWith(AUTH_URL)) return { final: next, seen };
      continue;
    }
    return { final: null, seen, error: `${path} answered ${res.status}: ${html.slice(0, 300)}`, status: res.status, path };
  }
  return { final: null, seen, error: "too many redirects" };
}

