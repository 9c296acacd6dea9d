// The demo origin: a small application behind the edge-session Worker.
//
// It never sees a token. It signs users in and out by answering with the
// Worker's handoff headers (`X-Session-Issue`, `X-Session-Revoke`), and it
// learns who is signed in from the identity assertion the Worker adds to
// guarded requests (`X-Session-Assertion`, an ES256 JWT), verified against the
// Worker's JWKS with the verifier package (origin/). Which paths need what is
// the Worker's job (examples/demo/config.mjs).
//
//   WORKER_URL=http://127.0.0.1:8787 node examples/demo/server.mjs   # listens on 127.0.0.1:8788 (DEMO_PORT)
//   DEMO_ORIGINS="http://127.0.0.1:8787 http://localhost:8787" node examples/demo/server.mjs
//                                            # the Worker's origins, where its forms are posted from
//
// Reachable directly too: plain identity headers (`X-Session-User: admin`)
// sent to it prove nothing, and its pages that need a user say so.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AssertionError, verifyAssertion } from '../../origin/dist/index.js';
import { assertion, FRESH_SECONDS, jwksUrl, rules } from './config.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const publicDir = path.join(here, 'public');
/** The TypeScript client, as `npm --prefix client run build` emits it (ES modules). */
const clientDist = path.resolve(here, '..', '..', 'client', 'dist');

const MAX_FORM = 8 * 1024;
const MAX_USER_BYTES = 256; // the Worker's bound on userId (UTF-8 bytes)
const MAX_LABEL = 128; // the Worker's bound on label (characters)

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** "Chrome on Linux" and the like: the label of a new session when the form gives none. */
export function deviceLabel(ua = '') {
  const browser = [
    [/Edg\//, 'Edge'], [/OPR\//, 'Opera'], [/HeadlessChrome\//, 'Headless Chrome'], [/Chromium\//, 'Chromium'],
    [/Chrome\//, 'Chrome'], [/Firefox\//, 'Firefox'], [/Version\/.*Safari\//, 'Safari'], [/^curl\//, 'curl'],
  ].find(([re]) => re.test(ua))?.[1] ?? 'Browser';
  const os = [
    [/Android/, 'Android'], [/iPhone|iPad/, 'iOS'], [/Windows/, 'Windows'], [/Mac OS X/, 'macOS'],
    [/CrOS/, 'ChromeOS'], [/Linux/, 'Linux'],
  ].find(([re]) => re.test(ua))?.[1];
  return os ? `${browser} on ${os}` : browser;
}

/**
 * A local path to go to after signing in: `next` if it stays on this site,
 * else /app. Percent-encoded as a URL writes it (`/café` → `/caf%C3%A9`): a
 * Location header carries bytes, and Node refuses a character above U+00FF.
 */
export function safeNext(next) {
  if (typeof next !== 'string' || !/^\/(?![/\\])/.test(next) || /[\u0000-\u001f]/.test(next)) return '/app';
  const base = 'http://demo.invalid';
  const url = URL.canParse(next, base) ? new URL(next, base) : null;
  const local = url?.origin === base ? url.pathname + url.search + url.hash : '/app';
  // Dot segments can leave `//host` (`/..//evil.example`): never a host.
  return /^\/(?![/\\])/.test(local) ? local : '/app';
}

/**
 * JSON in ASCII only (`\u00eb` for `ë`), as an HTTP header value needs, and
 * with no `, ` (`\u002c ` inside strings; JSON.stringify writes none outside
 * them): the Worker reads `, ` in a handoff header as two joined lines.
 */
export function asciiJson(value) {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/, /g, '\\u002c ');
}

/** The demo's e-mail addresses, by userId (in memory: a demo has no database). */
const emails = new Map();
const emailOf = (userId) => emails.get(userId) ?? `${userId.replace(/[^A-Za-z0-9._-]/g, '') || 'user'}@example.com`;
const MAX_EMAIL = 254;

/**
 * Who the Worker says sent the request: `{ who }` from its verified
 * `X-Session-Assertion` (`userId`, `sessionId`, `roles`, `authTime`,
 * `claims`), or `{ refused }`, the verifier's AssertionError. Plain
 * `X-Session-*` headers are never read for identity.
 */
async function identity(req, trust) {
  if (trust.jwksUrl === undefined) {
    return { refused: new AssertionError('jwks_unavailable', 'the demo does not know the Worker\'s URL (WORKER_URL), so it cannot fetch its JWKS') };
  }
  try {
    return { who: await verifyAssertion(req, trust) };
  } catch (e) {
    if (e instanceof AssertionError) return { refused: e };
    throw e;
  }
}

/** The `X-Session-*` headers a request carries besides the assertion: what a forger sends straight to this port. */
function plainIdentityHeaders(req) {
  return Object.keys(req.headers).filter((h) => /^x[-_]session[-_]/.test(h) && h !== 'x-session-assertion');
}

/** The page around every body; `path` is the page's own (the nav marks it, "sign in again" returns to it). */
function layout({ title, page, path: here = '/', body, who = null }) {
  const nav = [['/', 'Home'], ['/app', 'App'], ['/app/devices', 'Devices'], ['/app/email', 'E-mail'], ['/admin', 'Admin']]
    .map(([href, text]) => `<a href="${href}"${href === here ? ' aria-current="page"' : ''}>${text}</a>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · edge-session demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/public/style.css">
<script type="module" src="/public/app.js"></script>
</head>
<body data-page="${page}" data-session="loading"${who ? ` data-origin-user="${esc(who.userId)}"` : ''}>
<header>
  <a class="brand" href="/">edge-session <span>demo</span></a>
  <nav>${nav}</nav>
  <div id="session-status" class="status" aria-live="polite"></div>
  <form id="logout" method="post" action="/logout" hidden><button type="submit">Sign out</button></form>
</header>
<div id="insecure-banner" class="banner" role="alert" hidden>This page is plain http on a host other than
<code>localhost</code> or <code>127.0.0.1</code>: browsers refuse the session cookie (<code>Secure</code>, <code>__Host-</code>)
here, so signing in cannot work. Open <a id="insecure-local" href="http://127.0.0.1:8787/">127.0.0.1</a> instead, or serve
over https (<code>npm run dev -- --local-protocol https</code>).</div>
<div id="signed-out-banner" class="banner" role="status" hidden>You are signed out (in this tab or another one).
<a href="/login?next=${esc(encodeURIComponent(here))}">Sign in again</a></div>
<main>
${body}
</main>
</body>
</html>
`;
}

function home() {
  const also = (r) => [r.fresh ? `fresh: ${r.fresh}` : '', r.limit ? `limit: ${r.limit}` : ''].filter(Boolean).join(', ');
  const rows = rules.map((r) => `<tr><td><code>${esc(r.path)}</code></td><td><code>${esc(r.access)}</code></td><td>${also(r) ? `<code>${esc(also(r))}</code>` : ''}</td></tr>`).join('');
  return layout({
    title: 'Home', page: 'home', path: '/', body: `
<h1>A session handler at the edge</h1>
<p>Every request to this site passes the edge-session Worker first. This page is
<strong>public</strong>; <a href="/app">/app</a> and <a href="/app/devices">/app/devices</a> need a session,
<a href="/admin">/admin</a> needs the role <code>admin</code>, and <a href="/app/email">/app/email</a> (change your
e-mail) a <em>recent</em> sign-in: the rule's <code>fresh</code>. The application behind the Worker (the
<em>origin</em>, <code>examples/demo/server.mjs</code>) never sees a token: it signs you in by answering with an
<code>X-Session-Issue</code> header, and learns who you are from <code>X-Session-Assertion</code>, a token the Worker
signs and the origin verifies (sent straight to the origin, <code>X-Session-User: admin</code> proves nothing).</p>
<p><a class="button" href="/login">Sign in</a></p>
<h2>The Worker's rules (<code>GUARD_RULES</code>)</h2>
<table><thead><tr><th>path</th><th>access</th><th>also</th></tr></thead><tbody>${rows}
<tr><td>anything else</td><td><code>session</code></td><td></td></tr></tbody></table>
<p>The session API is under <a href="/auth/openapi.json"><code>/auth</code></a> on this same host, so the page's
script (the TypeScript client in <code>client/</code>) calls it with the session cookie, which JavaScript never sees
(<code>HttpOnly</code>).</p>`,
  });
}

function loginPage({ next, error = '', ua = '', userId = '', reauth = false }) {
  return layout({
    title: 'Sign in', page: 'login', path: '/login', body: `
<h1>${reauth ? 'Sign in again' : 'Sign in'}</h1>
${reauth ? `<p class="note" id="reauth-note" role="status">You are signed in, but <code>${esc(next || '/app')}</code> changes
something that matters, so it needs a recent sign-in. Please confirm it is you: sign in again to continue.
(The Worker sent you here with <code>reauth=1</code>: your sign-in was older than the page's rule allows.)</p>`
    : next ? `<p class="note">Sign in to continue to <code>${esc(next)}</code>.</p>` : ''}
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/login" class="card" id="login-form">
  <input type="hidden" name="next" value="${esc(next || '/app')}">
  <label>User name <input name="user" required maxlength="64" autocomplete="username" value="${esc(userId)}" autofocus></label>
  <label>Device label <input name="label" maxlength="${MAX_LABEL}" placeholder="${esc(deviceLabel(ua))}"></label>
  <label class="check"><input type="checkbox" name="admin" value="1"> admin role</label>
  <button type="submit">Sign in</button>
  <p class="hint">Any name, no password: this is a demo. The origin answers with
  <code>X-Session-Issue: {"userId": …, "label": …, "meta": {"roles": […]}}</code> and a redirect; the Worker creates the
  session and sets the cookie.</p>
</form>`,
  });
}

/** The answer to a request for a page that needs a user, when the assertion did not verify: why. */
function refusedPage(refused, forged, here) {
  const forgedNote = forged.length
    ? `<p id="forged">It carries ${forged.map((h) => `<code>${esc(h)}</code>`).join(', ')}: headers anyone can send
straight to this port, so the demo does not read them for who you are.</p>`
    : '';
  return layout({
    title: 'Not verified', page: 'refused', path: here, body: `
<h1>Who are you? The Worker did not say</h1>
<p class="error" role="alert" id="refused" data-code="${esc(refused.code)}">This request carries no valid identity
assertion (<code>${esc(refused.code)}</code>: ${esc(refused.message)}).</p>
${forgedNote}
<p>The demo trusts only <code>X-Session-Assertion</code>, which the Worker signs for every request it forwards with a
session and the demo verifies against the Worker's public keys (<code>/auth/.well-known/jwks.json</code>). Open the demo
through the Worker, <a href="http://127.0.0.1:8787/app">http://127.0.0.1:8787/app</a>.</p>`,
  });
}

const time = (s) => `${s} (${new Date(s * 1000).toISOString()})`;

function appPage(who) {
  const c = who.claims;
  const rows = [
    ['iss', c.iss, 'who signed it (ASSERTION_ISSUER)'],
    ['aud', c.aud, 'whom it is for: this origin (ASSERTION_AUDIENCE)'],
    ['sub', c.sub, 'the userId'],
    ['sid', c.sid, 'the session id'],
    ['roles', JSON.stringify(c.roles), "the session's meta.roles"],
    ['auth_time', time(c.auth_time), 'when you signed in'],
    ['iat', time(c.iat), 'signed at'],
    ['exp', time(c.exp), `valid until (ASSERTION_TTL, ${c.exp - c.iat} s)`],
  ].map(([claim, value, meaning]) => `<tr><td><code>${claim}</code></td><td><code id="claim-${claim}">${esc(value)}</code></td><td>${esc(meaning)}</td></tr>`)
    .join('\n');
  return layout({
    title: 'App', page: 'app', path: '/app', who, body: `
<h1>Hello, <span id="origin-user">${esc(who.userId)}</span></h1>
<p>This page needs a session. The Worker checked yours and told the origin who you are in a signed
<code>X-Session-Assertion</code> (an ES256 JWT), which the origin verified with the Worker's public keys
(<code>origin/</code>, the verifier package):</p>
<table class="received"><thead><tr><th>claim</th><th>value</th><th>meaning</th></tr></thead><tbody>
${rows}
</tbody></table>
<p class="hint">The session cookie itself is not forwarded to the origin, and any <code>X-Session-*</code> header a
client sends is removed before the Worker adds its own. Sent straight to the origin, such headers prove nothing: only
the Worker's signature does.</p>
<h2>What the page's script sees</h2>
<p>The client's session store (<code>GET /auth/session</code>, refetched when the tab gets focus, and told by the
other tabs when you sign out there):</p>
<pre id="client-session" class="card">…</pre>`,
  });
}

function adminPage(who, here) {
  const roles = who.roles;
  return layout({
    title: 'Admin', page: 'admin', path: here, who, body: `
<h1>Admin area</h1>
<p id="admin-welcome">Welcome, <strong>${esc(who?.userId ?? '?')}</strong>. Your session's roles:
${roles.map((r) => `<code>${esc(r)}</code>`).join(' ') || '(none)'}.</p>
<p>The Worker let this request through because of the rule <code>{"path": "/admin/**", "access": "role:admin"}</code>:
a session without <code>admin</code> in <code>meta.roles</code> gets <code>403 forbidden</code> and never reaches the
origin.</p>`,
  });
}

function emailPage(who, { saved = false, error = '' } = {}) {
  const signedIn = who?.authTime ? new Date(who.authTime * 1000).toISOString() : null;
  return layout({
    title: 'Change e-mail', page: 'email', path: '/app/email', who, body: `
<h1>Change your e-mail</h1>
<p>A sensitive page: the Worker lets it through only when you signed in recently (the rule's <code>fresh</code>).
Signed in at <strong id="auth-time">${signedIn ? esc(signedIn) : '?'}</strong> (the assertion's <code>auth_time</code>).</p>
${saved ? '<p class="note" id="email-saved" role="status">Saved.</p>' : ''}
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/app/email" class="card" id="email-form">
  <label>E-mail <input type="email" name="email" required maxlength="${MAX_EMAIL}" value="${esc(emailOf(who?.userId ?? ''))}"></label>
  <button type="submit">Save</button>
</form>`,
  });
}

function devicesPage(who) {
  return layout({
    title: 'Your devices', page: 'devices', path: '/app/devices', who, body: `
<h1>Your devices</h1>
<p>Every session of <strong>${esc(who?.userId ?? '?')}</strong>, listed by the client
(<code>GET /auth/sessions</code>). Signing a device out revokes its session: its next request is signed out.</p>
<div class="actions">
  <button type="button" id="revoke-others">Sign out all other devices</button>
  <button type="button" id="revoke-all" class="danger">Sign out everywhere</button>
</div>
<p id="devices-message" class="note" aria-live="polite"></p>
<table id="devices"><thead><tr><th>device</th><th>client</th><th>signed in</th><th>last seen</th><th>expires</th><th></th></tr></thead>
<tbody><tr><td colspan="6">Loading…</td></tr></tbody></table>`,
  });
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_FORM) throw Object.assign(new Error('form too large'), { status: 413 });
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Why a form post comes from another site (a login or logout forced on the
 * visitor), or null. The Worker refuses a cross-site handoff itself; the demo
 * checks too, as any origin should. Browsers say where a request comes from
 * in `Sec-Fetch-Site`, and send `Origin` on every POST (also those too old
 * for `Sec-Fetch-Site`): it must be one the demo is served under, which
 * behind the Worker is the Worker's (`origins`; by default the `Host` the
 * request came to, for a demo reached directly). curl sends neither.
 */
function crossSite(req, origins) {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  const own = origins.length > 0 ? origins : [`http://${req.headers.host}`, `https://${req.headers.host}`];
  return own.includes(origin) ? null : 'its Origin is not one this demo is served under (DEMO_ORIGINS)';
}

async function serveFile(res, file, type) {
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
    res.end(body);
  } catch {
    const hint = file.startsWith(clientDist) ? 'The client is not built: run `npm --prefix client run build`.' : 'Not found.';
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(hint);
  }
}

/**
 * The origin's own check of the verified assertion, as any origin should
 * make (the Worker's rules are the first, not the only, line): `/admin` needs
 * the role in `roles`, `/app/email` a sign-in at most FRESH_SECONDS old
 * (`auth_time`; `fresh`, as the Worker's rule). Answers how to refuse, or null.
 */
function notAllowed(who, p, fresh) {
  if ((p === '/admin' || p.startsWith('/admin/')) && !who.roles.includes('admin')) {
    return (res) => send(res, 403, layout({
      title: 'Forbidden', page: 'forbidden', path: p, who, body: `
<h1>Not for you</h1>
<p class="error" role="alert" id="forbidden">The verified assertion of <strong>${esc(who.userId)}</strong> does not hold
the role <code>admin</code>.</p>`,
    }));
  }
  if (p === '/app/email' && Date.now() / 1000 - who.authTime > fresh) {
    const next = encodeURIComponent(p);
    return (res) => send(res, 303, '', { location: `/login?next=${next}&reauth=1` });
  }
  return null;
}

/** The paths whose pages show who you are: the Worker guards them, the demo verifies who. */
const needsUser = (p) => p === '/app' || p === '/app/devices' || p === '/app/email' || p === '/admin' || p.startsWith('/admin/');

async function handle(req, res, trust, origins, fresh) {
  const url = new URL(req.url, 'http://demo.invalid');
  const p = url.pathname;

  if ((req.method === 'GET' || req.method === 'HEAD') && needsUser(p)) {
    const { who, refused } = await identity(req, trust);
    if (!who) return send(res, refused.status, refusedPage(refused, plainIdentityHeaders(req), p));
    const denied = notAllowed(who, p, fresh);
    if (denied) return denied(res);
    if (p === '/app') return send(res, 200, appPage(who));
    if (p === '/app/devices') return send(res, 200, devicesPage(who));
    if (p === '/app/email') return send(res, 200, emailPage(who, { saved: url.searchParams.get('saved') === '1' }));
    return send(res, 200, adminPage(who, p));
  }

  if (req.method === 'GET' || req.method === 'HEAD') {
    if (p === '/') return send(res, 200, home());
    if (p === '/login') {
      const reauth = url.searchParams.get('reauth') === '1';
      return send(res, 200, loginPage({ next: url.searchParams.get('next'), ua: req.headers['user-agent'], reauth }));
    }
    if (p === '/public/app.js') return serveFile(res, path.join(publicDir, 'app.js'), 'text/javascript; charset=utf-8');
    if (p === '/public/style.css') return serveFile(res, path.join(publicDir, 'style.css'), 'text/css; charset=utf-8');
    const m = /^\/public\/client\/([a-z]+\.js)$/.exec(p);
    if (m) return serveFile(res, path.join(clientDist, m[1]), 'text/javascript; charset=utf-8');
    return send(res, 404, layout({ title: 'Not found', page: 'none', path: p, body: `<h1>Not found</h1><p><a href="/">Home</a></p>` }));
  }

  if (req.method === 'POST' && p === '/app/email') {
    const refused = crossSite(req, origins);
    if (refused) return send(res, 403, `cross-site form post refused: ${refused}`, { 'content-type': 'text/plain; charset=utf-8' });
    const { who, refused: unverified } = await identity(req, trust);
    if (!who) return send(res, unverified.status, refusedPage(unverified, plainIdentityHeaders(req), p));
    const denied = notAllowed(who, p, fresh);
    if (denied) return denied(res);
    const email = ((await readForm(req)).get('email') ?? '').trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > MAX_EMAIL) {
      return send(res, 400, emailPage(who, { error: 'Give an e-mail address like name@example.com.' }));
    }
    emails.set(who.userId, email);
    return send(res, 303, '', { location: '/app/email?saved=1' });
  }

  if (req.method === 'POST' && (p === '/login' || p === '/logout')) {
    const refused = crossSite(req, origins);
    if (refused) return send(res, 403, `cross-site form post refused: ${refused}`, { 'content-type': 'text/plain; charset=utf-8' });
    const form = await readForm(req);
    if (p === '/logout') {
      // The Worker revokes the request's session and clears its cookie.
      return send(res, 303, '', { location: '/', 'x-session-revoke': 'current' });
    }
    const userId = (form.get('user') ?? '').trim();
    const next = form.get('next') ?? '/app';
    const ua = req.headers['user-agent'];
    if (!userId || Buffer.byteLength(userId) > MAX_USER_BYTES) {
      return send(res, 400, loginPage({ next, ua, userId, error: 'Give a user name (at most 256 bytes).' }));
    }
    // Cut by characters, never inside one (half an emoji is not text).
    const label = [...((form.get('label') ?? '').trim() || deviceLabel(ua))].slice(0, MAX_LABEL).join('');
    const roles = form.get('admin') ? ['admin'] : [];
    // The Worker creates this session, replacing the request's one, and sets its cookie.
    // Header values are bytes, not text: non-ASCII goes as JSON \u escapes.
    const issue = asciiJson({ userId, label, meta: { roles } });
    return send(res, 303, '', { location: safeNext(next), 'x-session-issue': issue });
  }

  res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
  res.end('method not allowed');
}

/**
 * Starts the demo origin; `port: 0` picks a free one. `origins`: where its
 * pages are served (the Worker's origins, `scheme://host:port`), the only
 * `Origin` a form post may carry; read on every request, so it may be filled
 * once the Worker is up. `workerUrl`: the Worker in front of it, whose JWKS
 * verifies the assertions (or later, `setWorkerUrl`). `fresh`: the seconds
 * a sign-in stays recent for /app/email, as in the Worker's rule. Answers
 * `{ url, close, setWorkerUrl }`.
 */
export async function startDemo({ host = '127.0.0.1', port = 8788, origins = [], workerUrl, fresh = FRESH_SECONDS } = {}) {
  const trust = { issuer: assertion.issuer, audience: assertion.audience, jwksUrl: workerUrl && jwksUrl(workerUrl) };
  const server = createServer((req, res) => {
    handle(req, res, trust, origins, fresh).catch((e) => {
      // Never a stack trace to the client; the terminal gets it.
      if (!res.headersSent) res.writeHead(e.status || 500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(e.status ? e.message : 'internal error');
      if (!e.status) console.error(e);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: actual } = server.address();
  return {
    url: `http://${host}:${actual}`,
    setWorkerUrl: (url) => { trust.jwksUrl = jwksUrl(url); },
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const origins = (process.env.DEMO_ORIGINS ?? '').split(/[\s,]+/).filter(Boolean);
  const demo = await startDemo({ port: Number(process.env.DEMO_PORT || 8788), origins, workerUrl: process.env.WORKER_URL || 'http://127.0.0.1:8787' });
  console.log(`[demo] origin listening on ${demo.url} (reach it through the Worker)`);
  const stop = () => demo.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
