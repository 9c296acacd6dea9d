// The soak (issue 13): the built Worker in Miniflare in front of a local
// origin on 127.0.0.1, driven by a fixed number of seeded random operations of
// many users at once: creates through the admin API and through the origin's
// handoff (bursts of concurrent creates of one user included), verifies
// through the guard, refreshes, label changes (self-service PATCH), revoke-one
// (logout, self-service and admin delete, handoff `X-Session-Revoke: current`,
// re-login replacing the current session), revoke-others and revoke-all
// (self-service, admin, handoff `X-Session-Revoke: all`), and listings.
//
// The test keeps a model of every session it created (live or revoked) and
// checks each answer against it as it goes, and every invariant at the end:
// every session created and not revoked verifies (guard and admin verify);
// every revoked one is refused; every user's listing (self-service, admin,
// and the global KV index) equals the model, labels included; zero 5xx; zero
// lost; zero resurrected.
//
// Concurrency, and why the model stays exact: each user has a read/write lock.
// Creates, verifies, refreshes and label changes of one user run concurrently
// under the shared side (a label change also holds its session's own lock, so
// its final label is known; a refresh may race it and must not undo it);
// revocations, re-logins and listings take the exclusive side, so the set of
// live sessions they see is the model's. Different users never wait for each
// other. The seed fixes the sequence of operations and their targets'
// choices; the interleaving of concurrent requests is the runtime's.
//
// In both modes the same invariants are checked. In `strong` mode they are
// the mode's promise. In `eventual` mode they hold here because Miniflare runs
// one local KV namespace, which is consistent (a read sees every write made
// before it); on Cloudflare a revocation would hold elsewhere only within
// about 60 s (README, Consistency), which this test does not model.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, startWorker } from './support/worker.mjs';
import { COOKIE } from './support/common.mjs';

const OPS = Number(process.env.SOAK_OPS || 2000); // per mode
const USERS = 20;
const CONCURRENCY = 12; // requests in flight at most (bursts count each request)
const SEED = 0x5eed13;
const MODE_BUDGET_MS = 170_000; // the run stops by itself well within a test's time

const RULES = [
  { path: '/login', methods: ['POST'], access: 'public' },
  { path: '/logout', methods: ['POST'], access: 'public' },
  { path: '/app/**', access: 'session' },
];

/** mulberry32: a small seeded PRNG, answers floats in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** userIds: mostly ASCII, a few that need percent-encoding in paths and headers. */
const SPECIAL = { 3: 'ünïcødé', 7: 'with/slash and space', 11: 'a+b@c.d?x=1&y', 13: '用户', 17: '%41%2F' };
const userIds = Array.from({ length: USERS }, (_, i) => `${SPECIAL[i] ? `${SPECIAL[i]}-` : 'soak-user-'}${String(i).padStart(2, '0')}`);

/** JSON that is visible ASCII only (an `X-Session-Issue` value must be). */
const asciiJson = (v) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A FIFO read/write lock: many readers or one writer. */
class RwLock {
  constructor() {
    this.readers = 0;
    this.writer = false;
    this.queue = [];
  }
  acquire(mode) {
    return new Promise((resolve) => {
      this.queue.push({ mode, resolve });
      this.pump();
    });
  }
  pump() {
    while (this.queue.length) {
      const head = this.queue[0];
      if (head.mode === 'write' ? this.writer || this.readers > 0 : this.writer) return;
      this.queue.shift();
      if (head.mode === 'write') this.writer = true;
      else this.readers++;
      head.resolve(() => {
        if (head.mode === 'write') this.writer = false;
        else this.readers--;
        this.pump();
      });
    }
  }
  async with(mode, fn) {
    const release = await this.acquire(mode);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** A counting semaphore bounding requests in flight. */
class Semaphore {
  constructor(n) {
    this.free = n;
    this.waiting = [];
  }
  async take() {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise((resolve) => this.waiting.push(resolve));
  }
  give() {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** One soak run in one mode; answers the figures. */
async function soak(mode) {
  const rand = prng(SEED); // the sequence of operations; each operation draws its own choices from `x`
  const pickWith = (x, arr) => arr[Math.floor(x() * arr.length)];
  const pick = (arr) => pickWith(rand, arr);
  const issues = new Map(); // login nonce -> X-Session-Issue / X-Session-Revoke the origin answers with
  const origin = await startOrigin((seen) => {
    const url = new URL(seen.url, 'http://origin');
    const nonce = url.searchParams.get('n');
    const handoff = nonce && issues.get(nonce);
    if (handoff) {
      issues.delete(nonce);
      return { status: 200, headers: handoff, body: '{"handoff":true}' };
    }
    return undefined; // echo what the origin received
  });
  const w = await startWorker({
    strong: mode === 'strong',
    bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES) },
  });
  const admin = { authorization: `Bearer ${w.env.ADMIN_KEY}` };
  const self = new URL(w.base).origin;

  const sessions = new Map(); // id -> {id, token, userId, label, live, via}
  const users = new Map(userIds.map((u) => [u, { lock: new RwLock(), ids: [] }]));
  const labelLocks = new Map(); // id -> RwLock (write only): one label change of a session at a time
  const counts = {
    requests: 0, byStatus: {}, server5xx: 0, ops: {}, lost: [], resurrected: [], mismatches: [], liveAccepted: 0, revokedRefused: 0,
  };
  const sem = new Semaphore(CONCURRENCY);
  let nonceSeq = 0;

  /** One request to the Worker, counted; answers {res, text, json}. */
  async function req(path, init = {}) {
    await sem.take();
    try {
      const res = await w.fetch(path, { redirect: 'manual', ...init });
      const text = await res.text();
      counts.requests++;
      counts.byStatus[res.status] = (counts.byStatus[res.status] || 0) + 1;
      if (res.status >= 500) {
        counts.server5xx++;
        counts.mismatches.push(`${init.method || 'GET'} ${path}: ${res.status} ${text.slice(0, 200)}`);
      }
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      return { res, text, json };
    } finally {
      sem.give();
    }
  }
  const fail = (what) => counts.mismatches.push(what);
  const expect = (cond, what) => {
    if (!cond) fail(what);
    return cond;
  };
  /** A wrong answer about one session: lost when the model has it live, resurrected when revoked. */
  const judge = (s, accepted, where) => {
    if (s.live && accepted) counts.liveAccepted++;
    if (!s.live && !accepted) counts.revokedRefused++;
    if (s.live && !accepted) counts.lost.push(`${where}: ${s.id} (${s.via}) refused`);
    if (!s.live && accepted) counts.resurrected.push(`${where}: ${s.id} (${s.via}) accepted after revocation`);
  };
  const live = (u) => users.get(u).ids.map((id) => sessions.get(id)).filter((s) => s.live);
  const any = (u) => users.get(u).ids.map((id) => sessions.get(id));
  const credentials = (s, useCookie, unsafe) => (useCookie
    ? { cookie: `${COOKIE}=${s.token}`, ...(unsafe ? { origin: self } : {}) }
    : { authorization: `Bearer ${s.token}` });
  const record = (userId, token, session, label, via) => {
    const id = token.split('.')[2];
    if (session) expect(session.id === id && session.userId === userId, `${via}: the answer names ${session.id}/${session.userId}`);
    expect(!sessions.has(id), `${via}: session id ${id} issued twice (before: ${sessions.get(id)?.via} ${sessions.get(id)?.label}, now ${label})`);
    const s = { id, token, userId, label, labels: [label], labelAt: 0, live: true, via };
    sessions.set(id, s);
    users.get(userId).ids.push(id);
    return s;
  };

  // --- operations (each runs under its user's lock, taken by the caller) ---

  async function createAdmin(userId, label) {
    const body = { userId, label, meta: { roles: ['reader'], n: label } };
    const { res, json, text } = await req('/auth/admin/sessions', {
      method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!expect(res.status === 201, `admin create ${userId}: ${res.status} ${text.slice(0, 200)}`)) return;
    record(userId, json.token, json.session, label, 'admin');
  }

  /** Login through the origin's handoff; with `replacing`, the request carries that session's cookie. */
  async function createHandoff(userId, label, replacing) {
    const n = `h${nonceSeq++}`;
    issues.set(n, { 'x-session-issue': asciiJson({ userId, label }) });
    // With the cookie, as a browser posts it: with its Origin (issue 18).
    const headers = replacing ? { cookie: `${COOKIE}=${replacing.token}`, origin: self } : {};
    const { res, text } = await req(`/login?n=${n}`, { method: 'POST', headers, body: 'login' });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
    const token = cookie && cookie.slice(COOKIE.length + 1).split(';')[0];
    if (!expect(res.status === 200 && token, `handoff login ${userId}: ${res.status} ${text.slice(0, 200)} ${cookie}`)) return;
    expect(!res.headers.has('x-session-issue'), 'X-Session-Issue reached the client');
    if (replacing) replacing.live = false;
    record(userId, token, null, label, replacing ? 'relogin' : 'handoff');
  }

  async function verifyGuard(x, s) {
    const useCookie = x() < 0.5;
    const { res, json, text } = await req(`/app/page?id=${s.id}`, { headers: credentials(s, useCookie, false) });
    judge(s, res.status === 200, 'guard');
    if (res.status === 200) {
      expect(json?.headers?.['x-session-id'] === s.id, `guard forwarded ${json?.headers?.['x-session-id']} for ${s.id}`);
      expect(json?.headers?.['x-session-user'] === encodeURIComponent(s.userId), `guard user header for ${s.id}`);
      expect(!(json?.headers?.cookie || '').includes(s.token) && !json?.headers?.authorization, 'the token reached the origin');
    } else {
      expect(res.status === 401 && json?.code === 'invalid_token', `guard refusal of ${s.id}: ${res.status} ${text.slice(0, 200)}`);
    }
  }

  async function refresh(x, s) {
    const useCookie = x() < 0.5;
    const from = s.labelAt;
    const { res, json, text } = await req('/auth/session/refresh', { method: 'POST', headers: credentials(s, useCookie, true) });
    judge(s, res.status === 200, 'refresh');
    // Label changes of this session may run meanwhile: the answer holds the
    // label of when it was answered, the one acknowledged when the refresh
    // began or one sent since.
    const labels = s.labels.slice(from);
    if (res.status === 200) expect(json.id === s.id && labels.includes(json.label), `refresh of ${s.id} (${s.via}): label ${JSON.stringify(json.label)}, model ${JSON.stringify(labels)}, id ${json.id}`);
    else expect(res.status === 401, `refresh of ${s.id}: ${res.status} ${text.slice(0, 200)}`);
  }

  async function relabel(x, s, label) {
    let lock = labelLocks.get(s.id);
    if (!lock) labelLocks.set(s.id, (lock = new RwLock()));
    await lock.with('write', async () => {
      const useCookie = x() < 0.5;
      s.labels.push(label); // the label is `label` from some point of this request on, if it succeeds
      const at = s.labels.length - 1;
      const { res, json, text } = await req('/auth/session', {
        method: 'PATCH',
        headers: { ...credentials(s, useCookie, true), 'content-type': x() < 0.5 ? 'application/json' : 'application/merge-patch+json' },
        body: JSON.stringify({ label }),
      });
      judge(s, res.status === 200, 'label');
      if (res.status === 200) {
        expect(json.label === label && json.id === s.id, `label of ${s.id} answered ${text.slice(0, 200)}`);
        s.label = label;
        s.labelAt = at;
      } else {
        expect(res.status === 401, `label of ${s.id}: ${res.status} ${text.slice(0, 200)}`);
      }
    });
  }

  /** Revokes one live session of `userId` in one of five ways. */
  async function revokeOne(x, userId) {
    const mine = live(userId);
    if (mine.length === 0) return createAdmin(userId, 'refill');
    const s = pickWith(x, mine);
    const how = pickWith(x, ['logout', 'self-by-id', 'admin', 'handoff-current', 'relogin']);
    if (how === 'relogin') {
      counts.ops['revoke-one:relogin'] = (counts.ops['revoke-one:relogin'] || 0) + 1;
      return createHandoff(userId, `relogin-${nonceSeq}`, s);
    }
    let res;
    let text;
    if (how === 'logout') {
      ({ res, text } = await req('/auth/session', { method: 'DELETE', headers: credentials(s, x() < 0.5, true) }));
      expect(res.status === 204, `logout of ${s.id}: ${res.status} ${text.slice(0, 200)}`);
    } else if (how === 'self-by-id') {
      const by = pickWith(x, mine); // possibly itself
      ({ res, text } = await req(`/auth/sessions/${s.id}`, { method: 'DELETE', headers: credentials(by, x() < 0.5, true) }));
      expect(res.status === 204, `self delete of ${s.id}: ${res.status} ${text.slice(0, 200)}`);
    } else if (how === 'admin') {
      ({ res, text } = await req(`/auth/admin/sessions/${s.id}`, { method: 'DELETE', headers: admin }));
      expect(res.status === 204, `admin delete of ${s.id}: ${res.status} ${text.slice(0, 200)}`);
    } else {
      const n = `r${nonceSeq++}`;
      issues.set(n, { 'x-session-revoke': 'current' });
      ({ res, text } = await req(`/logout?n=${n}`, { method: 'POST', headers: { cookie: `${COOKIE}=${s.token}`, origin: self }, body: 'bye' }));
      const cleared = res.headers.getSetCookie().some((c) => c.startsWith(`${COOKIE}=;`) || /Max-Age=0/i.test(c));
      expect(res.status === 200 && cleared, `handoff revoke current of ${s.id}: ${res.status} ${text.slice(0, 200)}`);
    }
    if (res.status < 300) s.live = false;
    counts.ops[`revoke-one:${how}`] = (counts.ops[`revoke-one:${how}`] || 0) + 1;
  }

  async function revokeOthers(x, userId) {
    const mine = live(userId);
    if (mine.length === 0) return createAdmin(userId, 'refill');
    const keep = pickWith(x, mine);
    const { res, json, text } = await req('/auth/sessions?others=true', { method: 'DELETE', headers: credentials(keep, x() < 0.5, true) });
    if (!expect(res.status === 200, `revoke others of ${userId}: ${res.status} ${text.slice(0, 200)}`)) return;
    expect(json.revoked === mine.length - 1, `revoke others of ${userId}: revoked ${json.revoked}, model ${mine.length - 1}`);
    for (const s of mine) if (s !== keep) s.live = false;
  }

  async function revokeAll(x, userId) {
    const mine = live(userId);
    const how = mine.length === 0 ? 'admin' : pickWith(x, ['self', 'admin', 'handoff-all']);
    let res;
    let json;
    let text;
    if (how === 'self') {
      ({ res, json, text } = await req('/auth/sessions', { method: 'DELETE', headers: credentials(pickWith(x, mine), x() < 0.5, true) }));
    } else if (how === 'admin') {
      ({ res, json, text } = await req(`/auth/admin/users/${encodeURIComponent(userId)}/sessions`, { method: 'DELETE', headers: admin }));
    } else {
      const n = `a${nonceSeq++}`;
      issues.set(n, { 'x-session-revoke': 'all' });
      ({ res, text } = await req(`/logout?n=${n}`, { method: 'POST', headers: { cookie: `${COOKIE}=${pickWith(x, mine).token}`, origin: self }, body: 'bye' }));
    }
    if (!expect(res.status === 200, `revoke all (${how}) of ${userId}: ${res.status} ${text.slice(0, 200)}`)) return;
    if (how !== 'handoff-all') expect(json.revoked === mine.length, `revoke all (${how}) of ${userId}: revoked ${json.revoked}, model ${mine.length}`);
    for (const s of mine) s.live = false;
    counts.ops[`revoke-all:${how}`] = (counts.ops[`revoke-all:${how}`] || 0) + 1;
  }

  /** The user's listing equals the model: ids and labels. */
  async function checkListing(x, userId) {
    const via = x() < 0.5 ? 'self' : 'admin';
    const mine = live(userId);
    let res;
    let json;
    let text;
    let by;
    if (via === 'self' && mine.length > 0) {
      by = pickWith(x, mine);
      ({ res, json, text } = await req('/auth/sessions', { headers: credentials(by, x() < 0.5, false) }));
    } else {
      ({ res, json, text } = await req(`/auth/admin/users/${encodeURIComponent(userId)}/sessions`, { headers: admin }));
    }
    if (!expect(res.status === 200, `listing of ${userId}: ${res.status} ${text.slice(0, 200)}`)) return;
    compareListing(userId, json.sessions, `${by ? 'self' : 'admin'} listing`, by);
  }

  function compareListing(userId, listed, where, by) {
    const got = new Map(listed.map((x) => [x.id, x]));
    expect(got.size === listed.length, `${where} of ${userId} lists an id twice`);
    for (const s of any(userId)) judge(s, got.has(s.id), where);
    for (const x of listed) {
      const s = sessions.get(x.id);
      if (!expect(s && s.userId === userId, `${where} of ${userId} holds an unknown or foreign session ${x.id}`)) continue;
      if (s.live) expect(x.label === s.label, `${where}: label of ${s.id} is ${JSON.stringify(x.label)}, model ${JSON.stringify(s.label)}`);
      if (by) expect(x.current === (x.id === by.id), `${where}: current of ${x.id}`);
      expect(!('meta' in x), `${where}: a summary carries meta`);
    }
  }

  // --- the run ---

  const WEIGHTS = [
    ['create-admin', 32], ['create-handoff', 16], ['burst-create', 6], ['verify', 52], ['refresh', 18],
    ['label', 22], ['revoke-one', 20], ['revoke-others', 4], ['revoke-all', 3], ['list', 20],
  ];
  const totalWeight = WEIGHTS.reduce((a, [, x]) => a + x, 0);
  const chooseOp = () => {
    let r = rand() * totalWeight;
    for (const [name, weight] of WEIGHTS) if ((r -= weight) < 0) return name;
    return WEIGHTS[0][0];
  };

  /** Runs one operation (`size` of them for a burst) under its user's lock, its choices drawn from `seed`. */
  async function run(op, userId, seed, size) {
    const x = prng(seed);
    const { lock } = users.get(userId);
    const label = `L${seed.toString(36)}`;
    const bump = (name, k = 1) => (counts.ops[name] = (counts.ops[name] || 0) + k);
    const shared = ['create-admin', 'create-handoff', 'burst-create', 'verify', 'refresh', 'label'].includes(op);
    return lock.with(shared ? 'read' : 'write', async () => {
      const all = any(userId);
      const mine = live(userId);
      // Most targets are live; now and then a revoked one, which must stay refused all along.
      const target = all.length && (mine.length === 0 || x() < 0.2) ? pickWith(x, all) : pickWith(x, mine);
      switch (op) {
        case 'create-admin': bump(op); return createAdmin(userId, label);
        case 'create-handoff': bump(op); return createHandoff(userId, label, null);
        case 'burst-create': {
          bump(op, size);
          return Promise.all(Array.from({ length: size }, (_, k) => (k % 2 ? createHandoff : createAdmin)(userId, `${label}-${k}`, null)));
        }
        case 'verify':
        case 'refresh':
        case 'label': {
          if (!target) { bump('create-admin'); return createAdmin(userId, label); }
          bump(op);
          if (op === 'verify') return verifyGuard(x, target);
          return op === 'refresh' ? refresh(x, target) : relabel(x, target, label);
        }
        case 'revoke-one': bump(op); return revokeOne(x, userId);
        case 'revoke-others': bump(op); return revokeOthers(x, userId);
        case 'revoke-all': bump(op); return revokeAll(x, userId);
        case 'list': bump(op); return checkListing(x, userId);
        default: throw new Error(op);
      }
    });
  }

  const started = Date.now();
  const inflight = new Set();
  let dispatched = 0;
  while (dispatched < OPS && Date.now() - started < MODE_BUDGET_MS) {
    const op = chooseOp();
    const userId = pick(userIds);
    const seed = Math.floor(rand() * 2 ** 32);
    const size = op === 'burst-create' ? Math.min(6, OPS - dispatched) : 1;
    dispatched += size;
    const p = run(op, userId, seed, size).catch((e) => fail(`${op} of ${userId} threw ${e.stack || e}`));
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    // Keep about as many operations queued as may run, so each sees a recent model.
    while (inflight.size >= CONCURRENCY * 2) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const runMs = Date.now() - started;

  // --- the invariants, against the model ---
  const all = [...sessions.values()];
  const finalChecks = { guard: 0, verify: 0, listings: 0 };
  await Promise.all(all.map(async (s) => {
    const g = await req(`/app/final?id=${s.id}`, { headers: { authorization: `Bearer ${s.token}` } });
    judge(s, g.res.status === 200, 'final guard');
    expect(g.res.status === (s.live ? 200 : 401), `final guard of ${s.id}: ${g.res.status}`);
    const v = await req('/auth/admin/verify', {
      method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ token: s.token }),
    });
    judge(s, v.res.status === 200, 'final admin verify');
    if (v.res.status === 200) expect(v.json.label === s.label, `final verify: label of ${s.id}`);
    finalChecks.guard++;
    finalChecks.verify++;
  }));
  for (const userId of userIds) {
    const { res, json } = await req(`/auth/admin/users/${encodeURIComponent(userId)}/sessions`, { headers: admin });
    if (expect(res.status === 200, `final admin listing of ${userId}: ${res.status}`)) compareListing(userId, json.sessions, 'final admin listing');
    const mine = live(userId);
    if (mine.length) {
      const by = mine[0];
      const own = await req('/auth/sessions', { headers: { authorization: `Bearer ${by.token}` } });
      if (expect(own.res.status === 200, `final self listing of ${userId}`)) compareListing(userId, own.json.sessions, 'final self listing', by);
    }
    finalChecks.listings++;
  }
  // The global listing is KV's index: in `strong` mode the owners keep it after
  // their answer (outbox), so it is polled until it settles (bounded).
  const globalStart = Date.now();
  let globalOk = false;
  let globalDiff = '';
  while (!globalOk && Date.now() - globalStart < 20_000) {
    const listed = new Map();
    let cursor = null;
    do {
      const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const { res, json } = await req(`/auth/admin/sessions?limit=1000${q}`, { headers: admin });
      assert.equal(res.status, 200, 'global listing');
      for (const x of json.sessions) listed.set(x.id, x);
      cursor = json.cursor;
    } while (cursor);
    const wantIds = all.filter((s) => s.live).map((s) => s.id);
    const missing = wantIds.filter((id) => !listed.has(id));
    const extra = [...listed.keys()].filter((id) => !sessions.get(id)?.live);
    const badLabel = wantIds.filter((id) => listed.has(id) && listed.get(id).label !== sessions.get(id).label);
    globalOk = missing.length === 0 && extra.length === 0 && badLabel.length === 0;
    globalDiff = `missing ${missing.length}, extra ${extra.length}, wrong label ${badLabel.length}`;
    if (!globalOk) await new Promise((r) => setTimeout(r, 250));
  }
  expect(globalOk, `global listing (KV index) differs from the model after 20 s: ${globalDiff}`);

  await w.dispose();
  await origin.close();
  return {
    mode,
    operations: dispatched,
    runMs,
    totalMs: Date.now() - started,
    globalSettledMs: Date.now() - globalStart,
    requests: counts.requests,
    byStatus: counts.byStatus,
    ops: counts.ops,
    created: all.length,
    live: all.filter((s) => s.live).length,
    revoked: all.filter((s) => !s.live).length,
    finalChecks,
    server5xx: counts.server5xx,
    liveAccepted: counts.liveAccepted,
    revokedRefused: counts.revokedRefused,
    lost: counts.lost,
    resurrected: counts.resurrected,
    mismatches: counts.mismatches,
  };
}

describe('soak: many users, concurrent operations, every invariant against a model', () => {
  for (const mode of ['eventual', 'strong']) {
    test(`${mode} mode: ${OPS} seeded operations of ${USERS} users`, { timeout: 240_000 }, async () => {
      const r = await soak(mode);
      const line = (k, v) => console.log(`# soak ${mode}: ${k} ${v}`);
      line('operations', `${r.operations} in ${(r.runMs / 1000).toFixed(1)} s (${Math.round(r.operations / (r.runMs / 1000))}/s), ${r.requests} requests, total ${(r.totalMs / 1000).toFixed(1)} s`);
      line('operation mix', Object.entries(r.ops).sort().map(([k, v]) => `${k} ${v}`).join(', '));
      line('statuses', JSON.stringify(r.byStatus));
      line('sessions', `${r.created} created, ${r.live} live, ${r.revoked} revoked at the end`);
      line('final checks', `${r.finalChecks.guard} guard + ${r.finalChecks.verify} admin verify, ${r.finalChecks.listings} users' listings (admin + self), global index settled in ${r.globalSettledMs} ms`);
      line('checks', `${r.liveAccepted} times a live session was accepted, ${r.revokedRefused} times a revoked one refused (guard, refresh, label, admin verify, listings)`);
      line('invariants', `5xx ${r.server5xx}, lost ${r.lost.length}, resurrected ${r.resurrected.length}, other mismatches ${r.mismatches.length}`);
      for (const m of [...r.lost, ...r.resurrected, ...r.mismatches].slice(0, 20)) console.log(`# soak ${mode}: ! ${m}`);
      assert.equal(r.operations, OPS, 'every operation ran within the time budget');
      assert.equal(r.server5xx, 0, '5xx answers');
      assert.deepEqual(r.lost, [], 'lost sessions');
      assert.deepEqual(r.resurrected, [], 'resurrected sessions');
      assert.deepEqual(r.mismatches, [], 'answers that differ from the model');
      assert.ok(r.revoked > 0 && r.live > 0, 'both live and revoked sessions were checked');
    });
  }
});
