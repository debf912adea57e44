// The service's own HTML pages: sign-in (with sign-up) and consent for the OAuth flow. They are
// plain forms that work without JavaScript; every value that reaches the page is escaped.

/** escapeHTML makes any string safe inside element text and double-quoted attributes. */
export function escapeHTML(s) {
  return String(s ?? "").replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What each scope lets a client do, in the words the consent page shows. */
export const SCOPE_DESCRIPTIONS = {
  "tasks:read": "See your tasks",
  "tasks:write": "Add, change, complete and delete your tasks",
  offline_access: "Stay connected without asking you to sign in again (refresh tokens)",
};

/** CSP for these pages: no scripts at all, forms post only to this service. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#a1121a;border:1px solid #a1121a;padding:.5rem}
ul{padding-left:1.2rem}.muted{color:#555}.row{display:flex;gap:.5rem}fieldset{border:1px solid #ccc;margin-top:1.5rem}`;

function layout(title, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title)} — taskwire</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>
`;
}

function errorBox(error) {
  return error ? `<p class="error" role="alert">${escapeHTML(error)}</p>` : "";
}

/**
 * signInPage renders the sign-in form and, below it, the sign-up form. oauthQuery is the signed
 * authorization request the OAuth provider sent the browser here with; it rides along in a
 * hidden field so that signing in continues the flow.
 */
export function signInPage({ oauthQuery, error, email }) {
  const hidden = `<input type="hidden" name="oauth_query" value="${escapeHTML(oauthQuery)}">`;
  return layout("Sign in", `<h1>Sign in to taskwire</h1>
${oauthQuery ? `<p class="muted">An application asks to connect to your tasks. Sign in first.</p>` : ""}
${errorBox(error)}
<form method="post" action="/sign-in">${hidden}
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHTML(email)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required minlength="8">
<button type="submit">Sign in</button></form>
<fieldset><legend>New here? Create an account</legend>
<form method="post" action="/sign-up">${hidden}
<label for="su-name">Name</label><input id="su-name" name="name" autocomplete="name" required maxlength="100">
<label for="su-email">E-mail</label><input id="su-email" name="email" type="email" autocomplete="username" required>
<label for="su-password">Password (at least 8 characters)</label><input id="su-password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="128">
<button type="submit">Create account</button></form></fieldset>`);
}

/** consentPage asks the signed-in user whether client may have scopes. */
export function consentPage({ oauthQuery, client, scopes, resource, user }) {
  const name = client.client_name || client.client_id;
  const items = scopes
    .map((s) => `<li><strong>${escapeHTML(s)}</strong>${SCOPE_DESCRIPTIONS[s] ? ` — ${escapeHTML(SCOPE_DESCRIPTIONS[s])}` : ""}</li>`)
    .join("");
  const hidden = `<input type="hidden" name="oauth_query" value="${escapeHTML(oauthQuery)}">`;
  return layout("Allow access", `<h1>Allow ${escapeHTML(name)} to use your tasks?</h1>
<p>Signed in as <strong>${escapeHTML(user.email)}</strong>.</p>
<p><strong>${escapeHTML(name)}</strong>${client.client_uri ? ` (<span>${escapeHTML(client.client_uri)}</span>)` : ""}
(client id <code>${escapeHTML(client.client_id)}</code>) asks for:</p>
<ul>${items}</ul>
${resource ? `<p class="muted">Access is limited to <code>${escapeHTML(resource)}</code>.</p>` : ""}
<form method="post" action="/consent">${hidden}
<div class="row"><button type="submit" name="accept" value="yes">Allow</button>
<button type="submit" name="accept" value="no">Deny</button></div></form>`);
}

/** messagePage shows a short outcome or problem (for example an invalid link). */
export function messagePage(title, text) {
  return layout(title, `<h1>${escapeHTML(title)}</h1><p>${escapeHTML(text)}</p>`);
}
