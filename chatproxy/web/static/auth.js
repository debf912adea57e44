// taskwire page sign-in: when the proxy names an auth service (BETTER_AUTH_URL), this builds a
// small sign-up / sign-in / sign-out panel into the page, talks to the auth service's standard
// Better Auth endpoints (its session lives in the auth service's cookie), and hands the page a
// short-lived JWT from /api/auth/token through window.TaskwireSetToken, fetching a new one a
// minute before each expires. Plain JavaScript, no build step; text is set with textContent.
(function () {
  'use strict';

  var cfg = window.TASKWIRE_CONFIG || {};
  if (!cfg.authURL) return;
  var base = String(cfg.authURL).replace(/\/+$/, '') + '/api/auth';
  var REFRESH_EARLY_MS = 60000;
  var refreshTimer = null;
  var ui = null;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  function field(form, id, label, type, autocomplete) {
    var l = el('label', { for: id }, label);
    var i = el('input', { id: id, name: id, type: type, autocomplete: autocomplete, required: '' });
    form.appendChild(l);
    form.appendChild(i);
    return i;
  }

  function build() {
    var box = el('section', { id: 'auth', class: 'notice auth', 'aria-labelledby': 'auth-title' });
    var title = el('h2', { id: 'auth-title' }, 'Sign in to taskwire');
    box.appendChild(title);
    var form = el('form', { id: 'auth-form', class: 'auth-form', novalidate: '' });
    var name = field(form, 'auth-name', 'Name (for a new account)', 'text', 'name');
    name.removeAttribute('required');
    var email = field(form, 'auth-email', 'E-mail', 'email', 'username');
    var password = field(form, 'auth-password', 'Password (at least 8 characters)', 'password', 'current-password');
    password.setAttribute('minlength', '8');
    var row = el('div', { class: 'chat-row' });
    var signIn = el('button', { type: 'submit', id: 'auth-sign-in' }, 'Sign in');
    var signUp = el('button', { type: 'button', id: 'auth-sign-up' }, 'Create account');
    row.appendChild(signIn);
    row.appendChild(signUp);
    form.appendChild(row);
    var message = el('p', { id: 'auth-message', role: 'status', 'aria-live': 'polite' });
    var who = el('p', { id: 'auth-user', hidden: '' });
    var whoText = el('span', { id: 'auth-user-text' });
    var signOut = el('button', { type: 'button', id: 'auth-sign-out' }, 'Sign out');
    who.appendChild(whoText);
    who.appendChild(document.createTextNode(' '));
    who.appendChild(signOut);
    box.appendChild(form);
    box.appendChild(message);
    box.appendChild(who);
    var header = document.querySelector('header');
    header.parentNode.insertBefore(box, header.nextSibling);

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      submit('/sign-in/email', { email: email.value.trim(), password: password.value });
    });
    signUp.addEventListener('click', function () {
      if (!form.reportValidity()) return;
      submit('/sign-up/email', { name: name.value.trim() || email.value.trim(), email: email.value.trim(), password: password.value });
    });
    signOut.addEventListener('click', function () {
      call('POST', '/sign-out', {}).then(function () { window.location.reload(); });
    });
    return { title: title, box: box, form: form, message: message, who: who, whoText: whoText, password: password, buttons: [signIn, signUp] };
  }

  function call(method, path, body) {
    var init = { method: method, credentials: 'include', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (body) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(base + path, init).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) { return { ok: res.ok, status: res.status, data: data }; });
    });
  }

  function showSignedOut(text) {
    clearTimeout(refreshTimer);
    ui.form.hidden = false;
    ui.who.hidden = true;
    ui.title.textContent = 'Sign in to taskwire';
    ui.message.textContent = text || '';
  }

  function submit(path, body) {
    ui.buttons.forEach(function (b) { b.disabled = true; });
    ui.message.textContent = path.indexOf('sign-up') >= 0 ? 'Creating your account…' : 'Signing in…';
    call('POST', path, body).then(function (r) {
      if (!r.ok) {
        showSignedOut((r.data && r.data.message) || ('Could not sign in (HTTP ' + r.status + ').'));
        return;
      }
      ui.password.value = '';
      return fetchToken();
    }, function (err) {
      showSignedOut('The sign-in service cannot be reached: ' + err.message);
    }).then(function () {
      ui.buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  // expiresIn is how long a JWT has left, from its own exp claim.
  function expiresIn(token) {
    try {
      var payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      return payload.exp * 1000 - Date.now();
    } catch (e) {
      return 5 * 60000;
    }
  }

  function fetchToken() {
    return call('GET', '/token').then(function (r) {
      if (!r.ok || !r.data.token) {
        showSignedOut(r.status === 401 ? '' : 'Could not get a token (HTTP ' + r.status + ').');
        return;
      }
      window.TaskwireSetToken(r.data.token);
      var help = document.getElementById('token-help');
      if (help) help.hidden = true;
      ui.form.hidden = true;
      ui.who.hidden = false;
      ui.title.textContent = 'Your account';
      ui.message.textContent = '';
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(fetchToken, Math.max(expiresIn(r.data.token) - REFRESH_EARLY_MS, 10000));
      return call('GET', '/get-session').then(function (s) {
        var user = s.ok && s.data && s.data.user;
        ui.whoText.textContent = 'Signed in as ' + (user ? user.email : 'you') + '.';
      });
    }, function (err) {
      showSignedOut('The sign-in service cannot be reached: ' + err.message);
      refreshTimer = setTimeout(fetchToken, 10000);
    });
  }

  function start() {
    ui = build();
    var help = document.getElementById('token-help');
    if (help) help.hidden = true;
    fetchToken();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
