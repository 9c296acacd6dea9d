// The demo's page script: the TypeScript client (client/dist, served as ES
// modules under /public/client/) keeps the page's view of the session.
import { SessionClient, createSessionStore, isSessionApiError } from '/public/client/index.js';

// Same origin as the page, API under /auth: the HttpOnly session cookie goes
// along (credentials: 'include'); the page's script never sees the token.
const store = createSessionStore({ client: new SessionClient(), focusRefetchInterval: 10_000 });
const page = document.body.dataset.page;
const guarded = page === 'app' || page === 'devices' || page === 'admin' || page === 'email';
const $ = (sel) => document.querySelector(sel);

// Signing in and out goes through the origin (form posts answered with
// X-Session-Issue / X-Session-Revoke), not through the store: the page the
// form lands on tells the other tabs to look again, and they follow at once.
const ANNOUNCE = 'edge-session-demo:announce';
for (const form of document.querySelectorAll('#login-form, #logout')) {
  form.addEventListener('submit', () => sessionStorage.setItem(ANNOUNCE, '1'));
}
if (sessionStorage.getItem(ANNOUNCE)) {
  sessionStorage.removeItem(ANNOUNCE);
  store.announce();
}

// Over plain http on a host other than localhost / 127.0.0.1 the page is not
// a secure context, and Chromium (like every current browser) stores no Secure
// cookie from it: the Worker's session cookie would be dropped and every
// sign-in would land back on the form. Say so, and do not create sessions in vain.
if (!window.isSecureContext) {
  $('#insecure-banner').hidden = false;
  const local = $('#insecure-local');
  local.href = `http://127.0.0.1:${location.port || 80}${location.pathname}${location.search}`;
  local.textContent = local.href;
  const submit = $('#login-form button[type=submit]');
  if (submit) submit.disabled = true;
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

const when = (iso) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const problem = (e) => (isSessionApiError(e) ? `${e.code}: ${e.detail || e.title}` : String(e));

function render(state) {
  document.body.dataset.session = state.status;
  const status = $('#session-status');
  const signedIn = state.status === 'signed-in';
  $('#logout').hidden = !signedIn;
  if (signedIn) {
    status.replaceChildren('Signed in as ', el('strong', { textContent: state.session.userId }));
  } else if (state.status === 'signed-out') {
    status.replaceChildren(page === 'login' ? 'Signed out' : el('a', { href: '/login', textContent: 'Sign in' }));
  } else if (state.status === 'error') {
    status.replaceChildren(el('span', { className: 'error', textContent: `Session API: ${problem(state.error)}` }));
  }
  // A guarded page was served with a session: when it ends, say so here
  // (the Worker would send the next navigation to the sign-in page).
  $('#signed-out-banner').hidden = !(guarded && state.status === 'signed-out');
  const pre = $('#client-session');
  if (pre) pre.textContent = signedIn ? JSON.stringify(state.session, null, 2) : state.status === 'signed-out' ? '(signed out)' : '…';
  if (page === 'devices') {
    // Nothing left to sign out once this session has ended.
    $('.actions').hidden = state.status === 'signed-out';
    if (signedIn) loadDevices();
    else showDevices([]);
  }
}

// The devices page.
const message = (text) => { const m = $('#devices-message'); if (m) m.textContent = text; };

function showDevices(list) {
  const body = $('#devices tbody');
  if (!list.length) {
    body.replaceChildren(el('tr', {}, el('td', { colSpan: 6, textContent: store.getState().status === 'signed-out' ? 'Signed out.' : 'No sessions.' })));
    return;
  }
  body.replaceChildren(...list.map((s) => {
    const client = [s.client?.userAgent, s.client?.country].filter(Boolean).join(' · ') || '—';
    const action = s.current
      ? el('span', { className: 'badge', textContent: 'this device' })
      : el('button', { type: 'button', className: 'revoke', textContent: 'Sign out', onclick: () => revoke(s) });
    const tr = el('tr', { className: s.current ? 'current' : '' },
      el('td', {}, el('strong', { textContent: s.label || '(no label)' })),
      el('td', { className: 'ua', title: client, textContent: client }),
      el('td', { className: 'when signed-in', title: 'authenticatedAt: when this device last signed in', textContent: when(s.authenticatedAt ?? s.createdAt) }),
      el('td', { className: 'when', textContent: when(s.lastSeenAt) }),
      el('td', { className: 'when', textContent: when(s.expiresAt) }),
      el('td', {}, action));
    tr.dataset.sessionId = s.id;
    return tr;
  }));
}

let loading = null;
let again = false;
function loadDevices() {
  // One listing at a time; a change while one runs lists once more after it.
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    do {
      again = false;
      try {
        showDevices(await store.listSessions());
      } catch (e) {
        message(`Could not list the sessions: ${problem(e)}`);
      }
    } while (again && store.getState().status === 'signed-in');
  })().finally(() => { loading = null; });
  return loading;
}

async function run(action, done) {
  try {
    const result = await action();
    message(done(result));
    if (store.getState().status === 'signed-in') await loadDevices();
  } catch (e) {
    message(problem(e));
  }
}

function revoke(s) {
  return run(() => store.revokeSession(s.id), () => `Signed out “${s.label || s.id}”.`);
}

if (page === 'devices') {
  $('#revoke-others').addEventListener('click', () =>
    run(() => store.revokeOtherSessions(), (n) => `Signed out ${n} other ${n === 1 ? 'device' : 'devices'}.`));
  $('#revoke-all').addEventListener('click', () =>
    run(() => store.revokeAllSessions(), (n) => `Signed out everywhere (${n} ${n === 1 ? 'session' : 'sessions'}).`));
}

store.subscribe(render);
