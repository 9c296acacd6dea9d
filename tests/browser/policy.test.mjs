// The demo's sensitive page behind `fresh` (contract §6 "Recent login"), in
// headless Chromium: the rule here is 2 seconds so that a sign-in turns
// stale during the test (the demo itself serves `fresh: 300`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, screenshot } from './support.mjs';

const FRESH = 2;
let stack;
let context;

before(async () => {
  stack = await startStack({ fresh: FRESH });
  context = await stack.browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(15_000);
});

after(async () => {
  await context?.close().catch(() => {});
  await stack?.close();
});

const url = (p) => stack.base + p;
const pathOf = (page) => { const u = new URL(page.url()); return u.pathname + u.search; };
const settled = (page, status) => page.waitForSelector(`body[data-session="${status}"]`);

async function submitLogin(page, user, expect) {
  await page.fill('#login-form input[name=user]', user);
  await Promise.all([page.waitForURL((u) => u.pathname + u.search === expect), page.click('#login-form button[type=submit]')]);
}

describe('a recent sign-in for the sensitive page, in Chromium', () => {
  test('fresh: a stale session is sent to sign in again with reauth=1, signing in again reaches the page; the devices page still works', async () => {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));

    await page.goto(url('/login'));
    await submitLogin(page, 'grace', '/app');
    await settled(page, 'signed-in');
    // Just signed in: the page opens, with when the origin was told we signed in.
    let res = await page.goto(url('/app/email'));
    assert.equal(res.status(), 200);
    const first = await page.textContent('#auth-time');
    assert.match(first, /^\d{4}-\d\d-\d\dT/);

    await page.waitForTimeout(FRESH * 1000 + 600);
    // Stale: the Worker sends the navigation to sign in again, keeping the cookie.
    res = await page.goto(url('/app/email'));
    assert.equal(pathOf(page), '/login?next=%2Fapp%2Femail&reauth=1');
    assert.equal((await res.request().redirectedFrom().response()).status(), 302);
    assert.match(await page.textContent('#reauth-note'), /needs a recent sign-in/);
    assert.equal(await page.textContent('h1'), 'Sign in again');
    await settled(page, 'signed-in'); // still signed in: the cookie was kept
    await screenshot(page, 'reauth');

    // The devices page needs no recent sign-in: it works on the stale session.
    const devices = await context.newPage();
    res = await devices.goto(url('/app/devices'));
    assert.equal(res.status(), 200);
    await devices.waitForFunction(() => document.querySelectorAll('#devices tbody tr[data-session-id]').length === 1);
    const signedIn = await devices.getAttribute('#devices tr.current td.signed-in', 'title');
    assert.match(signedIn, /authenticatedAt/);
    await devices.close();

    // Signing in again lands on the page, with a new sign-in time.
    await submitLogin(page, 'grace', '/app/email');
    assert.equal(await page.textContent('h1'), 'Change your e-mail');
    assert.notEqual(await page.textContent('#auth-time'), first);
    // And the change itself goes through while the sign-in is fresh.
    await page.fill('#email-form input[name=email]', 'grace@example.org');
    await Promise.all([page.waitForURL((u) => u.pathname + u.search === '/app/email?saved=1'), page.click('#email-form button[type=submit]')]);
    assert.equal(await page.inputValue('#email-form input[name=email]'), 'grace@example.org');
    await screenshot(page, 'email');
    assert.deepEqual(errors, []);
  });
});
