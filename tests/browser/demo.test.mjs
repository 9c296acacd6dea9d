// The demo (examples/demo) behind the built Worker in Miniflare, driven by
// headless Chromium: the whole sign-in / devices / sign-out flow as a person
// meets it. Screenshots of the main pages go to tests/browser/screenshots/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startStack, screenshot } from './support.mjs';

let stack;
const contexts = [];

before(async () => {
  stack = await startStack();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await stack?.close();
});

/** A fresh browser profile (its own cookie jar), closed after the tests. */
async function newContext() {
  const context = await stack.browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(15_000);
  contexts.push(context);
  return context;
}

async function newPage(context) {
  const page = await (context ?? (await newContext())).newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.scriptErrors = errors;
  return page;
}

const url = (p) => stack.base + p;
const pathOf = (page) => { const u = new URL(page.url()); return u.pathname + u.search; };
const settled = (page, status) => page.waitForSelector(`body[data-session="${status}"]`);

/** Signs in through the demo's form (from wherever the page is: /login or a redirect to it). */
async function signIn(page, user, { admin = false, label, expect = '/app' } = {}) {
  if (new URL(page.url()).pathname !== '/login') await page.goto(url('/login'));
  await page.fill('#login-form input[name=user]', user);
  if (label) await page.fill('#login-form input[name=label]', label);
  if (admin) await page.check('#login-form input[name=admin]');
  await Promise.all([page.waitForURL((u) => u.pathname + u.search === expect), page.click('#login-form button[type=submit]')]);
  await settled(page, 'signed-in');
}

async function sessionCookies(context) {
  return (await context.cookies(stack.base)).filter((c) => c.name === '__Host-session');
}

describe('the demo in Chromium', () => {
  test('the home page is public and shows the rules', async () => {
    const page = await newPage();
    const res = await page.goto(url('/'));
    assert.equal(res.status(), 200);
    await settled(page, 'signed-out');
    assert.match(await page.textContent('main table'), /\/admin\/\*\*\s*role:admin/);
    assert.equal(await page.textContent('#session-status'), 'Sign in');
    assert.equal(await page.isVisible('#insecure-banner'), false, '127.0.0.1 is a secure context');
    assert.deepEqual(page.scriptErrors, []);
    await screenshot(page, 'home');
  });

  test('over http on another host name Chromium drops the cookie: the demo says so and offers no sign-in', async () => {
    const context = await newContext();
    const page = await newPage(context);
    const other = stack.base.replace('127.0.0.1', 'app.test');
    await page.goto(`${other}/login`);
    await settled(page, 'signed-out');
    assert.equal(await page.isVisible('#insecure-banner'), true);
    assert.equal(await page.isDisabled('#login-form button[type=submit]'), true);
    assert.equal(await page.getAttribute('#insecure-local', 'href'), `${stack.base}/login`);
    await screenshot(page, 'insecure-host');
    // Submitted anyway: the Worker sets the cookie, Chromium refuses it, and /app sends the browser back.
    await page.fill('#login-form input[name=user]', 'ivan');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/login' && u.search === '?next=%2Fapp'),
      page.evaluate(() => document.querySelector('#login-form').submit()),
    ]);
    assert.deepEqual(await context.cookies(), []);
  });

  test('a guarded page sends the browser to sign in with `next`, and signing in lands there', async () => {
    const page = await newPage();
    await page.goto(url('/app?tab=1'));
    assert.equal(pathOf(page), '/login?next=%2Fapp%3Ftab%3D1');
    assert.equal(await page.textContent('.note code'), '/app?tab=1');
    await screenshot(page, 'login');

    await signIn(page, 'Zoë Müller', { expect: '/app?tab=1' });
    // What the origin received and verified: the Worker's signed assertion, its claims decoded.
    assert.equal(await page.textContent('#origin-user'), 'Zoë Müller');
    assert.equal(await page.textContent('#claim-sub'), 'Zoë Müller');
    assert.deepEqual(JSON.parse(await page.textContent('#claim-roles')), []);
    assert.equal(await page.textContent('#claim-iss'), 'edge-session-demo');
    assert.equal(await page.textContent('#claim-aud'), 'edge-session-demo-origin');
    const [iat, exp] = [await page.textContent('#claim-iat'), await page.textContent('#claim-exp')].map((t) => Number(t.split(' ')[0]));
    assert.equal(exp - iat, 60);
    // The page's script sees the same session through the client.
    await page.waitForFunction(() => document.querySelector('#client-session').textContent.startsWith('{'));
    const seen = JSON.parse(await page.textContent('#client-session'));
    assert.equal(seen.userId, 'Zoë Müller');
    assert.equal(seen.id, await page.textContent('#claim-sid'));
    assert.equal(seen.label, 'Headless Chrome on Linux', 'the label the demo derived from the user agent');
    assert.match(await page.textContent('#session-status'), /^Signed in as Zoë Müller$/);
    assert.deepEqual(page.scriptErrors, []);
    await screenshot(page, 'app');
  });

  test('the session cookie as Chromium stored it: HttpOnly, Secure, SameSite=Lax, Path=/', async () => {
    const context = await newContext();
    const page = await newPage(context);
    await signIn(page, 'cookie-check');
    const cookies = await context.cookies();
    assert.equal(cookies.length, 1, JSON.stringify(cookies));
    const [c] = cookies;
    assert.equal(c.name, '__Host-session');
    assert.match(c.value, /^es1\.k1\./);
    assert.equal(c.domain, '127.0.0.1', 'host-only (no Domain attribute)');
    assert.equal(c.path, '/');
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, 'Lax');
    const lifetime = c.expires - Date.now() / 1000;
    assert.ok(Math.abs(lifetime - 604800) < 120, `Max-Age is the idle TTL (7 days), got ${lifetime} s`);
    assert.equal(await page.evaluate(() => document.cookie), '', 'HttpOnly: invisible to scripts');
  });

  test('the role page: 403 without the role, 200 with it', async () => {
    const context = await newContext();
    const page = await newPage(context);
    await signIn(page, 'dana');
    // A person gets a page, not problem+json: same status and code.
    let res = await page.goto(url('/admin'));
    assert.equal(res.status(), 403);
    assert.equal(res.headers()['content-type'], 'text/html; charset=utf-8');
    assert.equal(await page.textContent('#code'), 'forbidden');
    assert.equal(await page.textContent('h1'), 'Forbidden');
    assert.match(await page.textContent('#reason'), /role/);
    await screenshot(page, 'admin-forbidden');
    // A script's fetch of the same path still gets problem+json (from a page
    // of the demo: the refusal page's own policy allows no fetch at all).
    await page.goto(url('/'));
    const fetched = await page.evaluate(async () => {
      const r = await fetch('/admin');
      return { status: r.status, type: r.headers.get('content-type'), body: await r.json() };
    });
    assert.deepEqual([fetched.status, fetched.type, fetched.body.code], [403, 'application/problem+json', 'forbidden']);

    // Signing in again with the role replaces the session (same cookie jar).
    await signIn(page, 'dana', { admin: true });
    assert.equal((await sessionCookies(context)).length, 1);
    res = await page.goto(url('/admin'));
    assert.equal(res.status(), 200);
    await settled(page, 'signed-in');
    assert.match(await page.textContent('#admin-welcome'), /Welcome, dana\. Your session's roles:\s*admin\./);
    res = await page.goto(url('/admin/settings'));
    assert.equal(res.status(), 200, '/admin/** covers the pages below it');
    await page.goto(url('/admin'));
    await settled(page, 'signed-in');
    await screenshot(page, 'admin');
  });

  test('the devices page lists both sessions; revoking the other one signs it out on its next request', async () => {
    const laptop = await newContext();
    const phone = await newContext();
    const a = await newPage(laptop);
    const b = await newPage(phone);
    await signIn(a, 'erin', { label: 'Laptop' });
    await signIn(b, 'erin', { label: 'Phone' });

    await a.goto(url('/app/devices'));
    await a.waitForFunction(() => document.querySelectorAll('#devices tbody tr[data-session-id]').length === 2);
    const rows = await a.$$eval('#devices tbody tr', (trs) => trs.map((tr) => ({
      label: tr.querySelector('td strong').textContent, current: tr.classList.contains('current'),
      badge: tr.querySelector('.badge')?.textContent ?? null, button: tr.querySelector('button.revoke')?.textContent ?? null,
    })));
    assert.deepEqual(rows.sort((x, y) => x.label.localeCompare(y.label)), [
      { label: 'Laptop', current: true, badge: 'this device', button: null },
      { label: 'Phone', current: false, badge: null, button: 'Sign out' },
    ]);
    await screenshot(a, 'devices');

    await a.click('#devices tr:not(.current) button.revoke');
    await a.waitForFunction(() => document.querySelectorAll('#devices tbody tr[data-session-id]').length === 1);
    assert.equal(await a.textContent('#devices-message'), 'Signed out “Phone”.');
    assert.equal(await a.textContent('#devices tr.current td strong'), 'Laptop');
    await screenshot(a, 'devices-after-revoke');

    // The phone's next request: the Worker sends it to sign in and clears its dead cookie.
    const res = await b.goto(url('/app'));
    assert.equal(pathOf(b), '/login?next=%2Fapp');
    assert.equal((await res.request().redirectedFrom().response()).status(), 302);
    assert.deepEqual(await sessionCookies(phone), []);
    // The laptop is still signed in.
    assert.equal((await a.goto(url('/app'))).status(), 200);
    await settled(a, 'signed-in');
  });

  test('"sign out all other devices", then "sign out everywhere"', async () => {
    const [one, two, three] = [await newContext(), await newContext(), await newContext()];
    const a = await newPage(one);
    const others = [await newPage(two), await newPage(three)];
    await signIn(a, 'frank', { label: 'Desk' });
    for (const p of others) await signIn(p, 'frank');

    await a.goto(url('/app/devices'));
    await a.waitForFunction(() => document.querySelectorAll('#devices tbody tr[data-session-id]').length === 3);
    await a.click('#revoke-others');
    await a.waitForFunction(() => document.querySelector('#devices-message').textContent === 'Signed out 2 other devices.');
    await a.waitForFunction(() => document.querySelectorAll('#devices tbody tr[data-session-id]').length === 1);
    for (const p of others) {
      await p.goto(url('/app/devices'));
      assert.equal(pathOf(p), '/login?next=%2Fapp%2Fdevices');
    }

    await a.click('#revoke-all');
    await settled(a, 'signed-out');
    assert.equal(await a.isVisible('#signed-out-banner'), true);
    assert.equal(await a.textContent('#devices tbody'), 'Signed out.');
    assert.deepEqual(await sessionCookies(one), [], 'the Worker cleared the cookie');
  });

  test('signing out in one tab shows in the other without a reload', async () => {
    const context = await newContext();
    const first = await newPage(context);
    await signIn(first, 'gwen');
    const second = await newPage(context);
    await second.goto(url('/app/devices'));
    await settled(second, 'signed-in');
    // What the second tab hears on the store's channel (a listener of its own, beside the store's).
    await second.evaluate(() => {
      window.notReloaded = true;
      window.heard = [];
      new BroadcastChannel('edge-session').onmessage = (e) => window.heard.push(e.data);
    });
    assert.equal(await second.isVisible('#signed-out-banner'), false);
    assert.equal(await second.isVisible('#revoke-others'), true);

    // Sign out in the first tab: a form post to the origin, answered with X-Session-Revoke.
    await Promise.all([first.waitForURL(url('/')), first.click('#logout button')]);
    await settled(first, 'signed-out');

    // The second tab hears it over BroadcastChannel, refetches, and shows it.
    await settled(second, 'signed-out');
    const heard = await second.evaluate(() => window.heard);
    assert.ok(heard.some((m) => m.source === 'edge-session' && m.type === 'changed'), `the first tab told the others: ${JSON.stringify(heard)}`);
    assert.equal(await second.isVisible('#revoke-others'), false, 'no sign-out buttons once signed out');
    assert.equal(await second.isVisible('#signed-out-banner'), true);
    assert.equal(await second.evaluate(() => window.notReloaded), true, 'the second tab was not reloaded');
    assert.equal(pathOf(second), '/app/devices');
    assert.equal(await second.textContent('#session-status'), 'Sign in');
    assert.deepEqual([...first.scriptErrors, ...second.scriptErrors], []);
    await screenshot(second, 'signed-out-other-tab');
  });

  test('straight to the demo\'s port, forged identity headers are refused, and the page says why', async () => {
    const context = await newContext();
    await context.setExtraHTTPHeaders({ 'X-Session-User': 'admin', 'X-Session-Meta': 'eyJyb2xlcyI6WyJhZG1pbiJdfQ' });
    const page = await newPage(context);
    for (const p of ['/app', '/admin']) {
      const res = await page.goto(stack.demo.url + p);
      assert.equal(res.status(), 401, p);
      assert.equal(await page.getAttribute('#refused', 'data-code'), 'missing');
      assert.match(await page.textContent('#refused'), /no valid identity\s+assertion \(missing: /);
      assert.match(await page.textContent('#forged'), /x-session-meta, x-session-user: headers anyone can send\s+straight to this port/);
      assert.equal(await page.$('#origin-user'), null, 'nobody is greeted');
    }
    // A made-up assertion fares no better.
    await context.setExtraHTTPHeaders({ 'X-Session-Assertion': 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImRlbW8ifQ.e30.AAAA' });
    const res = await page.goto(stack.demo.url + '/app');
    assert.equal(res.status(), 401);
    assert.notEqual(await page.getAttribute('#refused', 'data-code'), 'missing');
    await screenshot(page, 'origin-direct-refused');
  });

  test('signing out clears the cookie and ends the session', async () => {
    const context = await newContext();
    const page = await newPage(context);
    await signIn(page, 'hana');
    const [cookie] = await sessionCookies(context);
    assert.ok(cookie);

    await Promise.all([page.waitForURL(url('/')), page.click('#logout button')]);
    await settled(page, 'signed-out');
    assert.deepEqual(await sessionCookies(context), []);
    // The token itself no longer works, wherever it would come from.
    const res = await fetch(url('/auth/session'), { headers: { authorization: `Bearer ${cookie.value}` } });
    assert.equal(res.status, 401);
    await page.goto(url('/app'));
    assert.equal(pathOf(page), '/login?next=%2Fapp');
  });

  test('a form on another site can neither sign the visitor out nor into another account', async () => {
    // The attacker's page: another origin of the same site (127.0.0.1, another
    // port), so the Lax session cookie rides along on its form posts.
    const attacker = createServer((req, res) => {
      const path = req.url.slice(1);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form method="post" action="${stack.base}/${path}"><input name="user" value="mallory"></form>
        <script>document.forms[0].submit()</script>`);
    });
    await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    try {
      const evil = `http://127.0.0.1:${attacker.address().port}`;
      const context = await newContext();
      const page = await newPage(context);
      await signIn(page, 'ivy');
      const [before] = await sessionCookies(context);
      for (const path of ['logout', 'login']) {
        const answered = page.waitForResponse((r) => r.url() === `${stack.base}/${path}`);
        await page.goto(`${evil}/${path}`);
        assert.equal((await answered).status(), 403, `${path} from ${evil}`);
      }
      assert.deepEqual((await sessionCookies(context)).map((c) => c.value), [before.value], 'the same cookie');
      const res = await fetch(url('/auth/session'), { headers: { authorization: `Bearer ${before.value}` } });
      assert.equal((await res.json()).userId, 'ivy', 'still signed in as ivy');
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
  });
});
