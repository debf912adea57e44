// taskwire page: ChatKit.js on /chatkit when the CDN is reachable, else a built-in chat on
// /api/chat; a task panel on /api/tasks. Plain JavaScript, no build step. Everything the
// server says is shown with textContent, never parsed as HTML.
(function () {
  'use strict';

  var CHATKIT_SRC = 'https://cdn.platform.openai.com/deployments/chatkit/chatkit.js';
  var CHATKIT_TIMEOUT_MS = 4000;
  var cfg = window.TASKWIRE_CONFIG || {};

  function $(id) { return document.getElementById(id); }
  function setStatus(text) { $('status').textContent = text; }

  // ---- Token ------------------------------------------------------------------------------
  // In dev mode the proxy hands out a token for DEV_USER; otherwise the embedding app calls
  // window.TaskwireSetToken(token). Tokens never go into URLs.
  var token = null;
  var tokenWaiters = [];
  var devTimer = null;

  function setToken(t) {
    var first = token === null;
    token = t;
    $('token-help').hidden = true;
    var waiters = tokenWaiters;
    tokenWaiters = [];
    waiters.forEach(function (resolve) { resolve(t); });
    if (first) refreshTasks();
  }

  function getToken() {
    if (token) return Promise.resolve(token);
    return new Promise(function (resolve) { tokenWaiters.push(resolve); });
  }

  /** Gives the page the signed-in user's JWT; call it again before the token expires. */
  window.TaskwireSetToken = function (t) {
    if (typeof t !== 'string' || t.trim() === '') throw new TypeError('TaskwireSetToken needs a token string');
    setToken(t.trim());
  };

  function scheduleDevToken(ms) {
    clearTimeout(devTimer);
    devTimer = setTimeout(fetchDevToken, ms);
  }

  async function fetchDevToken() {
    try {
      var res = await fetch('/api/dev/token', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (!res.ok) throw new Error('GET /api/dev/token answered HTTP ' + res.status);
      var body = await res.json();
      if (!body.token) throw new Error('GET /api/dev/token sent no token');
      setToken(body.token);
      // Refresh a minute before expiry (at least 10 s from now).
      var ms = Date.parse(body.expires_at) - Date.now() - 60000;
      scheduleDevToken(isFinite(ms) ? Math.max(ms, 10000) : 10 * 60000);
    } catch (err) {
      setStatus('Could not get a development token (' + err.message + '); retrying.');
      scheduleDevToken(5000);
    }
  }

  // The user's IANA time zone, so the assistant's "today" and "tomorrow" are the user's days.
  var timeZone = '';
  try { timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { timeZone = ''; }

  // authFetch is the fetch ChatKit and the page use: it keeps the caller's headers and adds
  // the bearer token and the time zone.
  async function authFetch(input, init) {
    init = init || {};
    var t = await getToken();
    var headers = new Headers(init.headers || {});
    headers.set('Authorization', 'Bearer ' + t);
    if (timeZone) headers.set('X-Timezone', timeZone);
    var res = await fetch(input, Object.assign({}, init, { headers: headers }));
    if (res.status === 401 && cfg.devMode) scheduleDevToken(0);
    return res;
  }

  // ---- Task panel -------------------------------------------------------------------------
  var refreshing = false;
  var refreshAgain = false;

  async function refreshTasks() {
    if (!token) return;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      var res = await authFetch('/api/tasks', { headers: { Accept: 'application/json' } });
      var body = await res.json().catch(function () { return {}; });
      if (!res.ok) throw new Error(errorText(body, res.status));
      renderTasks(body.tasks || [], Boolean(body.next_cursor));
    } catch (err) {
      $('tasks-status').textContent = 'Could not load tasks: ' + err.message;
    } finally {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; refreshTasks(); }
    }
  }

  function renderTasks(tasks, more) {
    var list = $('task-list');
    list.replaceChildren();
    tasks.forEach(function (task) {
      var li = document.createElement('li');
      li.className = 'task' + (task.completed ? ' task-done' : '');
      li.dataset.taskId = String(task.task_id);
      var title = document.createElement('span');
      title.className = 'task-title';
      title.textContent = '#' + task.task_id + ' ' + task.title;
      li.appendChild(title);
      var meta = [];
      if (task.completed) meta.push('done');
      if (task.priority && task.priority !== 'none') meta.push(task.priority + ' priority');
      if (task.due) meta.push('due ' + String(task.due).slice(0, 10));
      if (task.tags && task.tags.length) meta.push(task.tags.map(function (t) { return '#' + t; }).join(' '));
      if (meta.length) {
        var m = document.createElement('span');
        m.className = 'task-meta';
        m.textContent = meta.join(' · ');
        li.appendChild(m);
      }
      list.appendChild(li);
    });
    var open = tasks.filter(function (t) { return !t.completed; }).length;
    $('tasks-status').textContent = tasks.length === 0
      ? 'No tasks yet. Ask the chat to add one.'
      : tasks.length + (tasks.length === 1 ? ' task' : ' tasks') + ', ' + open + ' open' + (more ? ' (showing the first page)' : '') + '.';
  }

  function errorText(body, status) {
    var e = body && body.error;
    if (e && typeof e === 'object' && e.message) return e.message;
    if (typeof e === 'string') return e;
    if (body && body.message) return body.message;
    return 'HTTP ' + status;
  }

  // ---- ChatKit ----------------------------------------------------------------------------
  function loadChatKit() {
    return new Promise(function (resolve, reject) {
      if (window.customElements && customElements.get('openai-chatkit')) { resolve(); return; }
      var timer = setTimeout(function () { reject(new Error('timed out')); }, CHATKIT_TIMEOUT_MS);
      var s = document.createElement('script');
      s.src = CHATKIT_SRC;
      s.async = true;
      s.addEventListener('error', function () { clearTimeout(timer); reject(new Error('blocked or offline')); });
      s.addEventListener('load', function () {
        customElements.whenDefined('openai-chatkit').then(function () { clearTimeout(timer); resolve(); });
      });
      document.head.appendChild(s);
    });
  }

  function startChatKit() {
    var el = document.createElement('openai-chatkit');
    el.setOptions({
      api: { url: '/chatkit', domainKey: cfg.domainKey, fetch: authFetch },
      startScreen: {
        greeting: 'What needs doing?',
        prompts: [
          { label: 'Add a task', prompt: 'Add a task to buy groceries' },
          { label: 'Show my tasks', prompt: 'Show me all my tasks' },
          { label: 'Complete task 1', prompt: 'Mark task #1 as complete' }
        ]
      }
    });
    el.addEventListener('chatkit.effect', function (e) {
      if (e.detail && e.detail.name === 'tasks.changed') refreshTasks();
    });
    el.addEventListener('chatkit.response.end', function () { refreshTasks(); });
    el.addEventListener('chatkit.error', function (e) {
      setStatus('Chat error: ' + (e.detail && e.detail.error ? e.detail.error.message : 'unknown'));
    });
    var host = $('chatkit-host');
    host.appendChild(el);
    host.hidden = false;
    $('chat-loading').hidden = true;
    document.body.dataset.chatMode = 'chatkit';
  }

  // ---- Built-in chat (fallback) -----------------------------------------------------------
  var conversationId = null;

  function addMessage(kind, text, tools) {
    var li = document.createElement('li');
    li.className = 'msg msg-' + kind;
    var who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = kind === 'user' ? 'You: ' : kind === 'error' ? 'Error: ' : 'Assistant: ';
    li.appendChild(who);
    li.appendChild(document.createTextNode(text));
    if (tools && tools.length) {
      var t = document.createElement('span');
      t.className = 'msg-tools';
      t.textContent = 'Used: ' + tools.map(function (c) { return c.name; }).join(', ');
      li.appendChild(t);
    }
    var log = $('chat-log');
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  async function send(text) {
    var button = $('chat-send');
    button.disabled = true;
    $('chat-form').setAttribute('aria-busy', 'true');
    addMessage('user', text);
    try {
      var payload = { message: text };
      if (conversationId) payload.conversation_id = conversationId;
      var res = await authFetch('/api/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(payload)
      });
      var body = await res.json().catch(function () { return {}; });
      if (!res.ok) throw new Error(errorText(body, res.status));
      if (body.conversation_id) conversationId = body.conversation_id;
      addMessage('assistant', body.response || '(no reply)', body.tool_calls);
    } catch (err) {
      addMessage('error', err.message);
    } finally {
      button.disabled = false;
      $('chat-form').removeAttribute('aria-busy');
      refreshTasks();
    }
  }

  function startFallback(reason) {
    document.body.dataset.chatMode = 'fallback';
    $('chat-loading').hidden = true;
    $('fallback').hidden = false;
    setStatus('Built-in chat (ChatKit: ' + reason + ').');
    var form = $('chat-form');
    var input = $('chat-input');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text || $('chat-send').disabled) return;
      input.value = '';
      send(text).then(function () { input.focus(); });
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
  }

  // ---- Start ------------------------------------------------------------------------------
  function start() {
    if (!cfg.llmConfigured) {
      $('llm-help-text').textContent = cfg.llmHelp || 'Set OPENAI_API_KEY or GEMINI_API_KEY (or OPENAI_BASE_URL and LLM_MODEL) and restart chatproxy.';
      $('llm-help').hidden = false;
    }
    if (cfg.devMode) {
      fetchDevToken();
    } else if (!token) {
      $('token-help').hidden = false;
    }
    $('tasks-refresh').addEventListener('click', refreshTasks);
    loadChatKit().then(function () {
      try { startChatKit(); } catch (err) { startFallback('could not start: ' + err.message); }
    }, function (err) { startFallback(err.message); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
