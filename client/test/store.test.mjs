// The session store: state and subscriptions, focus refetch (rate-limited),
// and cross-tab sync over BroadcastChannel (Node 20 has it), against the
// built Worker. Two "tabs" are two stores sharing one cookie jar.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SessionClient, createSessionStore } from '../dist/index.js';
import { startWorker } from './support/worker.mjs';
import { adminOf, browserFetch, countingFetch, sleep } from './support/helpers.mjs';

let w;
let admin;
before(async () => {
  w = await startWorker();
  admin = adminOf(w);
});
after(() => w?.dispose());

/** Resolves with the first state for which `pred(state)` holds. */
function until(store, pred, ms = 3000) {
  if (pred(store.getState())) return Promise.resolve(store.getState());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`state never matched; last: ${JSON.stringify(store.getState())}`));
    }, ms);
    const off = store.subscribe((s) => {
      if (pred(s)) {
        clearTimeout(timer);
        off();
        resolve(s);
      }
    });
  });
}

/** A tab: a client on the shared browser fetch, counting its own requests, and its store. */
function tab(shared, storeOpts = {}) {
  const counted = countingFetch(shared.fetch);
  const client = new SessionClient({ baseUrl: w.base, fetch: counted.fetch });
  const store = createSessionStore({ client, focusTarget: false, channel: false, ...storeOpts });
  return { store, calls: counted.calls, client };
}

const uniqueChannel = () => `edge-session-test-${process.pid}-${Math.random()}`;

describe('session store', () => {
  test('the first subscriber loads the session; listeners get (state, previous); unsubscribe stops them', async () => {
    const { token, session } = await admin.createSession({ userId: 'store-user' });
    const t = tab(browserFetch(w, { cookie: token }));
    assert.equal(t.store.getState().status, 'idle');
    assert.equal(t.calls.length, 0, 'nothing fetched before a subscriber');
    const seen = [];
    const off = t.store.subscribe((s, prev) => seen.push([prev.status, s.status]));
    const s = await until(t.store, (x) => x.status === 'signed-in');
    assert.equal(s.session.id, session.id);
    assert.deepEqual(seen, [['idle', 'loading'], ['loading', 'signed-in']]);
    assert.equal(t.calls.length, 1);
    off();
    await t.store.updateSession({ label: 'renamed' });
    assert.equal(seen.length, 2, 'no call after unsubscribe');
    assert.equal(t.store.getState().session.label, 'renamed');
    t.store.destroy();
  });

  test('concurrent refetches share one request; a sign-out during a fetch wins', async () => {
    const { token } = await admin.createSession({ userId: 'racer' });
    const t = tab(browserFetch(w, { cookie: token }));
    const [a, b] = await Promise.all([t.store.refetch(), t.store.refetch()]);
    assert.equal(a, b);
    assert.equal(t.calls.length, 1);
    const pending = t.store.refetch();
    await t.store.signOut();
    await pending;
    assert.equal(t.store.getState().status, 'signed-out', 'the stale fetch did not bring the session back');
    t.store.destroy();
  });

  test('a 401 from any call signs the store out; other failures keep the last session with status error', async () => {
    const { token, session } = await admin.createSession({ userId: 'gone' });
    let offline = false;
    const shared = browserFetch(w, { cookie: token });
    const client = new SessionClient({
      baseUrl: w.base,
      fetch: (u, i) => (offline ? Promise.reject(new TypeError('fetch failed')) : shared.fetch(u, i)),
    });
    const store = createSessionStore({ client, focusTarget: false, channel: false });
    await store.refetch();
    offline = true;
    const s = await store.refetch();
    assert.equal(s.status, 'error');
    assert.equal(s.error.code, 'network_error');
    assert.equal(s.session.id, session.id, 'last known session kept');
    offline = false;
    await admin.deleteSessionById(session.id);
    await assert.rejects(store.updateSession({ label: 'x' }), (e) => e.code === 'invalid_token');
    assert.equal(store.getState().status, 'signed-out');
    assert.equal(store.getState().error.code, 'invalid_token');
    store.destroy();
  });

  test('focus refetches at most once per focusRefetchInterval', async () => {
    const { token } = await admin.createSession({ userId: 'focus' });
    let clock = 1_000_000;
    const focus = new EventTarget();
    const t = tab(browserFetch(w, { cookie: token }), { focusTarget: focus, focusRefetchInterval: 30_000, now: () => clock });
    await t.store.refetch();
    assert.equal(t.calls.length, 1);

    focus.dispatchEvent(new Event('focus'));
    clock += 10_000;
    focus.dispatchEvent(new Event('focus'));
    await sleep(50);
    assert.equal(t.calls.length, 1, 'within 30 s of the last fetch: no refetch');

    clock += 21_000;
    focus.dispatchEvent(new Event('focus'));
    focus.dispatchEvent(new Event('focus'));
    focus.dispatchEvent(new Event('focus'));
    await until(t.store, () => t.calls.length === 2 && t.store.getState().status === 'signed-in');
    await sleep(50);
    assert.equal(t.calls.length, 2, 'a burst of focus events: one refetch');

    // Revoked elsewhere: the next allowed focus refetch sees it.
    await admin.revokeUserSessions('focus');
    clock += 30_000;
    focus.dispatchEvent(new Event('focus'));
    const s = await until(t.store, (x) => x.status === 'signed-out');
    assert.equal(s.error.code, 'invalid_token');
    assert.equal(t.calls.length, 3);

    t.store.destroy();
    clock += 60_000;
    focus.dispatchEvent(new Event('focus'));
    await sleep(50);
    assert.equal(t.calls.length, 3, 'no listener after destroy');
  });

  test('cross-tab: signing out in one tab signs the others out without a request', async () => {
    const { token, session } = await admin.createSession({ userId: 'tabs' });
    const browser = browserFetch(w, { cookie: token }); // one cookie jar, two tabs
    const name = uniqueChannel();
    const t1 = tab(browser, { channel: name });
    const t2 = tab(browser, { channel: name });
    await Promise.all([t1.store.refetch(), t2.store.refetch()]);
    assert.equal(t2.store.getState().session.id, session.id);
    const before2 = t2.calls.length;

    const signedOut = until(t2.store, (s) => s.status === 'signed-out');
    await t1.store.signOut();
    const s2 = await signedOut;
    assert.equal(s2.session, null);
    assert.equal(t2.calls.length, before2, 'tab 2 learnt it from the channel, no request');
    assert.equal(browser.jar.value, undefined, 'the cookie is gone for every tab');
    t1.store.destroy();
    t2.store.destroy();
  });

  test('cross-tab: a label change, a refresh, a revoke of the others make the other tabs refetch', async () => {
    const { token, session } = await admin.createSession({ userId: 'tabs-2' });
    const other = await admin.createSession({ userId: 'tabs-2' });
    const browser = browserFetch(w, { cookie: token });
    const name = uniqueChannel();
    const t1 = tab(browser, { channel: name });
    const t2 = tab(browser, { channel: name });
    await Promise.all([t1.store.refetch(), t2.store.refetch()]);

    let n = t2.calls.length;
    await t1.store.updateSession({ label: 'from tab 1' });
    const s = await until(t2.store, (x) => x.session?.label === 'from tab 1');
    assert.equal(s.session.id, session.id);
    assert.equal(t2.calls.length, n + 1);

    n = t2.calls.length;
    assert.equal(await t1.store.revokeOtherSessions(), 1);
    await until(t2.store, () => t2.calls.length === n + 1);
    assert.equal((await until(t2.store, (x) => x.status === 'signed-in')).session.id, session.id, 'still signed in');
    assert.deepEqual((await t1.store.listSessions()).map((x) => x.id), [session.id]);
    assert.equal((await admin.listUserSessions('tabs-2')).some((x) => x.id === other.session.id), false);

    // Revoking the current session by id signs every tab out.
    const out = until(t2.store, (x) => x.status === 'signed-out');
    await t1.store.revokeSession(session.id);
    await out;
    assert.equal(t1.store.getState().status, 'signed-out');
    t1.store.destroy();
    t2.store.destroy();
  });

  test('cross-tab: revokeAllSessions signs every tab out; announce() makes them refetch after a sign-in', async () => {
    const first = await admin.createSession({ userId: 'tabs-3' });
    const browser = browserFetch(w, { cookie: first.token });
    const name = uniqueChannel();
    const t1 = tab(browser, { channel: name });
    const t2 = tab(browser, { channel: name });
    await Promise.all([t1.store.refetch(), t2.store.refetch()]);
    const out = until(t2.store, (x) => x.status === 'signed-out');
    assert.equal(await t1.store.revokeAllSessions(), 1);
    await out;

    // Tab 1 signs in again (the origin's handoff sets a new cookie), then tells the others.
    const second = await admin.createSession({ userId: 'tabs-3' });
    browser.jar.value = second.token;
    await t1.store.refetch();
    t1.store.announce();
    const back = await until(t2.store, (x) => x.status === 'signed-in');
    assert.equal(back.session.id, second.session.id);
    t1.store.destroy();
    t2.store.destroy();
  });

  test('foreign messages on the channel are ignored', async () => {
    const { token } = await admin.createSession({ userId: 'tabs-4' });
    const name = uniqueChannel();
    const t = tab(browserFetch(w, { cookie: token }), { channel: name });
    await t.store.refetch();
    const bc = new BroadcastChannel(name);
    bc.postMessage({ type: 'signed-out' });
    bc.postMessage('hello');
    await sleep(50);
    assert.equal(t.store.getState().status, 'signed-in');
    bc.close();
    t.store.destroy();
  });

  test('without window and BroadcastChannel (SSR): no listeners, no channel, initial state hydrates', async () => {
    const saved = globalThis.BroadcastChannel;
    assert.equal(typeof globalThis.window, 'undefined');
    try {
      delete globalThis.BroadcastChannel;
      const { token, session } = await admin.createSession({ userId: 'ssr' });
      const t = tab(browserFetch(w, { cookie: token }), { focusTarget: undefined, channel: undefined, initial: session });
      assert.equal(t.store.getState().status, 'signed-in', 'hydrated');
      const off = t.store.subscribe(() => {});
      assert.equal(t.calls.length, 0, 'a hydrated store does not refetch on subscribe');
      await t.store.signOut();
      assert.equal(t.store.getState().status, 'signed-out');
      off();
      t.store.destroy();
      const named = tab(browserFetch(w), { channel: 'edge-session', initial: null });
      assert.equal(named.store.getState().status, 'signed-out');
      named.store.announce(); // no channel: nothing to do, no throw
      named.store.destroy();
    } finally {
      globalThis.BroadcastChannel = saved;
    }
    // Node has BroadcastChannel but no window: the default stays off.
    const { token } = await admin.createSession({ userId: 'ssr-2' });
    const t = tab(browserFetch(w, { cookie: token }), { focusTarget: undefined, channel: undefined });
    await t.store.refetch();
    t.store.destroy();
  });
});
