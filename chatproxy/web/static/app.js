// taskwire page: ChatKit.js on /chatkit when the CDN is reachable, else a built-in chat that
// speaks the same protocol (and draws the same task widgets); a task panel on /api/tasks. Plain JavaScript, no build step. Everything the
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
  // Tick, reopen, rename and delete (with an undo window) through /api/tasks, which makes the
  // same mcpserver tool calls the assistant makes, as the signed-in user.
  var UNDO_MS = 6000;
  var refreshing = false;
  var refreshAgain = false;
  var canRestore = null; // learnt from GET /api/tasks/features
  var pendingDeletes = {}; // task_id → {title, timer, restored}
  var editing = null; // task_id whose title is being edited

  async function api(method, path, body) {
    var init = { method: method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    var res = await authFetch(path, init);
    var data = await res.json().catch(function () { return {}; });
    if (!res.ok) throw new Error(errorText(data, res.status));
    return data;
  }

  function panelStatus(text) { $('tasks-status').textContent = text; }

  async function refreshTasks() {
    if (!token) return;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      if (canRestore === null) {
        var f = await api('GET', '/api/tasks/features').catch(function () { return {}; });
        canRestore = f.restore === true;
      }
      var body = await api('GET', '/api/tasks');
      renderTasks(body.tasks || [], Boolean(body.next_cursor));
    } catch (err) {
      panelStatus('Could not load tasks: ' + err.message);
    } finally {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; refreshTasks(); }
    }
  }

  // change runs one task change, then reloads the list; failures are announced.
  async function change(method, path, body, done) {
    try {
      await api(method, path, body);
      if (done) panelStatus(done);
    } catch (err) {
      panelStatus('Could not change the task: ' + err.message);
    }
    await refreshTasks();
  }

  function button(label, cls, onClick, aria) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = cls;
    b.textContent = label;
    if (aria) b.setAttribute('aria-label', aria);
    b.addEventListener('click', onClick);
    return b;
  }

  function taskMeta(task) {
    var meta = [];
    if (task.priority && task.priority !== 'none') meta.push(task.priority + ' priority');
    if (task.due) meta.push('due ' + String(task.due).slice(0, 10));
    if (task.tags && task.tags.length) meta.push(task.tags.map(function (t) { return '#' + t; }).join(' '));
    return meta.join(' · ');
  }

  function renderTasks(tasks, more) {
    var list = $('task-list');
    var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focusKey : null;
    list.replaceChildren();
    var shown = 0;
    var open = 0;
    tasks.forEach(function (task) {
      if (pendingDeletes[task.task_id]) return; // shown as an undo row below
      shown++;
      if (!task.completed) open++;
      list.appendChild(taskItem(task));
    });
    Object.keys(pendingDeletes).forEach(function (id) { list.appendChild(undoItem(Number(id))); });
    if (focused) {
      var again = list.querySelector('[data-focus-key="' + focused + '"]');
      if (again) again.focus();
    }
    var deleting = Object.keys(pendingDeletes).length;
    panelStatus(shown === 0 && deleting === 0
      ? 'No tasks yet. Ask the chat to add one.'
      : shown + (shown === 1 ? ' task' : ' tasks') + ', ' + open + ' open' + (more ? ' (showing the first page)' : '') + '.');
  }

  function taskItem(task) {
    var id = task.task_id;
    var li = document.createElement('li');
    li.className = 'task' + (task.completed ? ' task-done' : '');
    li.dataset.taskId = String(id);
    var row = document.createElement('div');
    row.className = 'task-row';
    var box = document.createElement('input');
    box.type = 'checkbox';
    box.id = 'task-check-' + id;
    box.checked = Boolean(task.completed);
    box.dataset.focusKey = 'check-' + id;
    box.addEventListener('change', function () {
      box.disabled = true;
      change('PATCH', '/api/tasks/' + id, { completed: box.checked },
        (box.checked ? 'Completed' : 'Reopened') + ' ‘' + task.title + '’.');
    });
    row.appendChild(box);
    if (editing === id) {
      row.appendChild(titleEditor(task));
    } else {
      var label = document.createElement('label');
      label.className = 'task-title';
      label.htmlFor = box.id;
      label.textContent = task.title;
      row.appendChild(label);
      var actions = document.createElement('span');
      actions.className = 'task-actions';
      var edit = button('Edit', 'btn-small btn-quiet', function () { editing = id; refreshTasks(); }, 'Edit the title of ‘' + task.title + '’');
      edit.dataset.focusKey = 'edit-' + id;
      actions.appendChild(edit);
      var del = button('Delete', 'btn-small btn-danger', function () { startDelete(task); }, 'Delete ‘' + task.title + '’');
      del.dataset.focusKey = 'delete-' + id;
      actions.appendChild(del);
      row.appendChild(actions);
    }
    li.appendChild(row);
    var meta = taskMeta(task);
    if (meta) {
      var m = document.createElement('span');
      m.className = 'task-meta';
      m.textContent = meta;
      li.appendChild(m);
    }
    return li;
  }

  function titleEditor(task) {
    var form = document.createElement('form');
    form.className = 'task-edit';
    var input = document.createElement('input');
    input.type = 'text';
    input.value = task.title;
    input.required = true;
    input.maxLength = 500;
    input.setAttribute('aria-label', 'New title for task ' + task.task_id);
    form.appendChild(input);
    form.appendChild(button('Save', 'btn-small', function () { form.requestSubmit(); }));
    form.appendChild(button('Cancel', 'btn-small btn-quiet', function () { editing = null; refreshTasks(); }));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var title = input.value.trim();
      editing = null;
      if (!title || title === task.title) { refreshTasks(); return; }
      change('PATCH', '/api/tasks/' + task.task_id, { title: title }, 'Renamed to ‘' + title + '’.');
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { e.preventDefault(); editing = null; refreshTasks(); }
    });
    setTimeout(function () { input.focus(); input.select(); }, 0);
    return form;
  }

  // startDelete gives the user UNDO_MS to change their mind. With restore_task the task is
  // deleted at once and Undo restores it; without it, the delete waits for the window to pass.
  function startDelete(task) {
    var id = task.task_id;
    var entry = { title: task.title, timer: null };
    pendingDeletes[id] = entry;
    var finish = function () { delete pendingDeletes[id]; refreshTasks(); };
    if (canRestore) {
      api('DELETE', '/api/tasks/' + id).then(function () {
        panelStatus('Deleted ‘' + task.title + '’. Undo is available for a few seconds.');
      }, function (err) {
        panelStatus('Could not delete the task: ' + err.message);
        clearTimeout(entry.timer);
        finish();
      });
      entry.timer = setTimeout(finish, UNDO_MS);
    } else {
      panelStatus('‘' + task.title + '’ will be deleted in a few seconds. Undo keeps it.');
      entry.timer = setTimeout(function () {
        change('DELETE', '/api/tasks/' + id, undefined, 'Deleted ‘' + task.title + '’.').then(finish);
      }, UNDO_MS);
    }
    refreshTasks();
    setTimeout(function () {
      var undo = $('task-list').querySelector('[data-focus-key="undo-' + id + '"]');
      if (undo) undo.focus();
    }, 0);
  }

  function undoDelete(id) {
    var entry = pendingDeletes[id];
    if (!entry) return;
    clearTimeout(entry.timer);
    delete pendingDeletes[id];
    if (canRestore) {
      change('POST', '/api/tasks/' + id + '/restore', undefined, 'Restored ‘' + entry.title + '’.');
    } else {
      panelStatus('Kept ‘' + entry.title + '’.');
      refreshTasks();
    }
  }

  function undoItem(id) {
    var entry = pendingDeletes[id];
    var li = document.createElement('li');
    li.className = 'task task-deleted';
    li.dataset.taskId = String(id);
    var text = document.createElement('span');
    text.className = 'task-title';
    text.textContent = 'Deleted ‘' + entry.title + '’';
    li.appendChild(text);
    var undo = button('Undo', 'btn-small', function () { undoDelete(id); }, 'Undo deleting ‘' + entry.title + '’');
    undo.dataset.focusKey = 'undo-' + id;
    li.appendChild(undo);
    return li;
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
  // Speaks the same ChatKit protocol on /chatkit as ChatKit.js does, so the offline page shows
  // what ChatKit shows: streamed answers, tool steps, and task widgets whose controls send
  // threads.custom_action.
  var threadId = null;
  var busy = false;
  var bubbles = {}; // item id → element

  function logEl() { return $('chat-log'); }

  function scrollDown() { var log = logEl(); log.scrollTop = log.scrollHeight; }

  function addMessage(kind, text, id) {
    var li = document.createElement('li');
    li.className = 'msg msg-' + kind;
    var who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = kind === 'user' ? 'You: ' : kind === 'error' ? 'Error: ' : kind === 'notice' ? 'Notice: ' : 'Assistant: ';
    li.appendChild(who);
    var body = document.createElement('span');
    body.className = 'msg-text';
    body.textContent = text;
    li.appendChild(body);
    if (id) { li.dataset.itemId = id; bubbles[id] = li; }
    logEl().appendChild(li);
    scrollDown();
    return li;
  }

  function setText(li, text) { li.querySelector('.msg-text').textContent = text; }

  // ---- Widgets: the subset the server emits (ListView, ListViewItem, Checkbox, Badge, Button,
  // Text), plus plain containers. Labels come from the server and are set as text, never HTML.
  // rowName is the task a row is about (its checkbox label), so that each row's buttons get a
  // distinct accessible name ("Delete: buy milk"). Rows that are a question ("Delete ‘…’?")
  // keep their plain button names, read right after the question.
  function rowName(node) {
    var kids = node.children || [];
    for (var i = 0; i < kids.length; i++) {
      if (kids[i].type === 'Checkbox' && kids[i].label) return kids[i].label;
    }
    return '';
  }

  function renderNode(node, act, row) {
    if (!node || typeof node !== 'object') return null;
    var el;
    switch (node.type) {
      case 'ListView':
      case 'Card':
        el = document.createElement('div');
        el.className = 'w-root';
        if (node.status && node.status.text) {
          var cap = document.createElement('p');
          cap.className = 'w-status';
          cap.textContent = node.status.text;
          el.appendChild(cap);
        }
        var ul = document.createElement('ul');
        ul.className = 'w-list';
        (node.children || []).forEach(function (c) { var n = renderNode(c, act); if (n) ul.appendChild(n); });
        el.appendChild(ul);
        return el;
      case 'ListViewItem':
        el = document.createElement('li');
        el.className = 'w-item';
        row = rowName(node);
        break;
      case 'Checkbox':
        el = document.createElement('label');
        el.className = 'w-check';
        var box = document.createElement('input');
        box.type = 'checkbox';
        box.checked = Boolean(node.defaultChecked);
        box.disabled = Boolean(node.disabled);
        if (node.name) box.name = node.name;
        if (node.onChangeAction) box.addEventListener('change', function () { act(node.onChangeAction); });
        el.appendChild(box);
        var span = document.createElement('span');
        span.textContent = node.label || '';
        el.appendChild(span);
        return el;
      case 'Badge':
        el = document.createElement('span');
        el.className = 'w-badge w-badge-' + (node.color || 'secondary');
        el.textContent = node.label || '';
        return el;
      case 'Button':
        el = document.createElement('button');
        el.type = 'button';
        el.className = 'btn-small w-btn' + (node.color === 'danger' ? ' btn-danger' : '') + (node.variant === 'outline' ? ' btn-quiet' : '');
        el.textContent = node.label || '';
        if (row && node.label) el.setAttribute('aria-label', node.label + ': ' + row);
        el.disabled = Boolean(node.disabled);
        if (node.onClickAction) el.addEventListener('click', function () { act(node.onClickAction); });
        return el;
      case 'Text':
      case 'Title':
      case 'Caption':
      case 'Markdown':
        el = document.createElement('span');
        el.className = 'w-text' + (node.lineThrough ? ' w-strike' : '') + (node.color === 'secondary' ? ' muted' : '');
        el.textContent = node.value || '';
        return el;
      default:
        el = document.createElement('div');
        el.className = 'w-box';
    }
    (node.children || []).forEach(function (c) { var n = renderNode(c, act, row); if (n) el.appendChild(n); });
    return el;
  }

  function showWidget(item) {
    var li = document.createElement('li');
    li.className = 'msg msg-widget';
    li.dataset.itemId = item.id;
    var who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = 'Task list: ';
    li.appendChild(who);
    var tree = renderNode(item.widget, function (action) { sendAction(item.id, action, li); });
    if (tree) li.appendChild(tree);
    var old = bubbles[item.id];
    if (old && old.parentNode) {
      var hadFocus = old.contains(document.activeElement);
      old.replaceWith(li);
      if (hadFocus) { var first = li.querySelector('input, button'); if (first) first.focus(); }
    } else {
      logEl().appendChild(li);
    }
    bubbles[item.id] = li;
    scrollDown();
  }

  // handleEvent applies one ChatKit stream event to the log.
  function handleEvent(ev) {
    var item = ev.item;
    switch (ev.type) {
      case 'thread.created':
        threadId = ev.thread.id;
        break;
      case 'thread.item.added':
        if (item.type === 'assistant_message') addMessage('assistant', '', item.id);
        break;
      case 'thread.item.updated':
        var u = ev.update || {};
        var li = bubbles[ev.item_id];
        if (li && u.type === 'assistant_message.content_part.text_delta') {
          setText(li, li.querySelector('.msg-text').textContent + u.delta);
          scrollDown();
        }
        break;
      case 'thread.item.done':
      case 'thread.item.replaced':
        if (item.type === 'assistant_message') {
          var text = (item.content || []).map(function (c) { return c.text; }).join('');
          if (bubbles[item.id]) setText(bubbles[item.id], text); else addMessage('assistant', text, item.id);
        } else if (item.type === 'widget') {
          showWidget(item);
        } else if (item.type === 'workflow') {
          var tasks = (item.workflow && item.workflow.tasks) || [];
          var titles = tasks.map(function (t) { return t.title; }).filter(Boolean);
          if (titles.length) addMessage('tools', titles.join(' · '), item.id).classList.add('msg-tools');
        }
        break;
      case 'notice':
        addMessage('notice', (ev.title ? ev.title + ': ' : '') + ev.message);
        break;
      case 'error':
        addMessage('error', ev.message || 'Something went wrong; try again.');
        break;
      case 'client_effect':
        if (ev.name === 'tasks.changed') refreshTasks();
        break;
    }
  }

  // chatkit posts one streaming request to /chatkit and applies its events as they arrive.
  async function chatkit(type, params) {
    var res = await authFetch('/chatkit', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ type: type, params: params })
    });
    if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
      var body = await res.json().catch(function () { return {}; });
      throw new Error(errorText(body, res.status));
    }
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buf = '';
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buf += decoder.decode(chunk.value, { stream: true });
      var cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        var frame = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        frame.split('\n').forEach(function (line) {
          if (line.indexOf('data: ') === 0) handleEvent(JSON.parse(line.slice(6)));
        });
      }
    }
  }

  async function run(type, params) {
    busy = true;
    $('chat-send').disabled = true;
    $('chat-form').setAttribute('aria-busy', 'true');
    try {
      await chatkit(type, params);
    } catch (err) {
      addMessage('error', err.message);
    } finally {
      busy = false;
      $('chat-send').disabled = false;
      $('chat-form').removeAttribute('aria-busy');
      refreshTasks();
    }
  }

  function send(text) {
    addMessage('user', text);
    var input = { content: [{ type: 'input_text', text: text }], attachments: [], quoted_text: '', inference_options: {} };
    return threadId
      ? run('threads.add_user_message', { thread_id: threadId, input: input })
      : run('threads.create', { input: input });
  }

  function sendAction(itemId, action, li) {
    if (busy || !threadId) return;
    li.setAttribute('aria-busy', 'true');
    li.querySelectorAll('input, button').forEach(function (c) { c.disabled = true; });
    run('threads.custom_action', { thread_id: threadId, item_id: itemId, action: { type: action.type, payload: action.payload || {} } })
      .then(function () {
        li.removeAttribute('aria-busy');
        if (li.isConnected) li.querySelectorAll('input, button').forEach(function (c) { c.disabled = false; });
      });
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
      if (!text || busy) return;
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
