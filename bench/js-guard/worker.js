// The guard of edge-session written by hand in JavaScript, for the benchmark
// only (bench/run.mjs). It does the work the Rust Worker does on a guarded
// request, the way a careful engineer would write it for Workers:
//
// - token from `Authorization: Bearer` (wins) or the session cookie (split on
//   `;` only; of several cookies of that name, the first whose tag verifies);
// - strict parse of `es1.{kid}.{id}.{secret}.{tag}` (canonical base64url,
//   exact lengths), HMAC-SHA-256 tag check with WebCrypto
//   (`crypto.subtle.verify`, constant time) over
//   "edge-session token v1\0" || kid || "\0" || id || secret, before any KV read;
// - CSRF check of cookie-authenticated unsafe methods (Origin vs own origin
//   and ALLOWED_ORIGINS), before any KV read;
// - one KV read of `{KEY_PREFIX}s:{id}`, JSON record checked (`v`, `id`),
//   SHA-256("edge-session secret v1\0" || id || secret) compared in constant
//   time with `secretHash`, `expiresAt` / `absoluteExpiresAt` checked in code;
// - forwarded headers: client `x-session-*` (any case, `_` read as `-`) and
//   method/path override headers removed, the session cookie removed from the
//   Cookie header, a session bearer token removed; X-Session-Id,
//   X-Session-User (encodeURIComponent), X-Session-Meta (base64url of the
//   meta JSON) added;
// - forward to ORIGIN_URL (path and query kept) with `fetch`, redirects not
//   followed, body streamed; the origin's response returned as is unless it
//   carries handoff headers (`X-Session-Issue` / `X-Session-Revoke`, any
//   spelling), which are removed;
// - sliding expiration when less than half the idle TTL is left (claimed once
//   per half idle TTL per isolate, written after the response with a re-read).
//
// Not implemented (never exercised by the benchmark): GUARD_RULES other than
// "everything needs a session", LOGIN_URL redirects, acting on the handoff
// headers (they are only stripped), the session API under API_PREFIX.

const enc = new TextEncoder();
const TAG_DOMAIN = enc.encode('edge-session token v1\0');
const HASH_DOMAIN = enc.encode('edge-session secret v1\0');
const KID_RE = /^[A-Za-z0-9_-]{1,32}$/;
const OVERRIDE_HEADERS = new Set([
  'x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url',
]);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// --- base64url (no padding), strict ---------------------------------------
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Decodes canonical base64url without padding into exactly `n` bytes, or null. */
function b64urlDecode(text, n) {
  if (text.length !== Math.ceil((n * 4) / 3)) return null;
  const out = new Uint8Array(n);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return null; // non-canonical trailing bits
  return out;
}

function b64urlEncode(bytes) {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63] + ALPHABET[v & 63];
  }
  if (i + 1 === bytes.length) {
    const v = bytes[i] << 16;
    s += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63];
  } else if (i + 2 === bytes.length) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63];
  }
  return s;
}

function concat(...parts) {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function equalConstantTime(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// --- configuration, once per isolate ----------------------------------------
let configPromise;

function config(env) {
  configPromise ??= loadConfig(env);
  return configPromise;
}

async function loadConfig(env) {
  const keys = new Map();
  for (const entry of String(env.TOKEN_KEYS || '').split(',')) {
    const e = entry.trim();
    const colon = e.indexOf(':');
    if (colon < 0) continue;
    const kid = e.slice(0, colon);
    const raw = e.slice(colon + 1).replace(/-/g, '+').replace(/_/g, '/');
    if (!KID_RE.test(kid)) continue;
    let bytes;
    try {
      bytes = Uint8Array.from(atob(raw), (c) => c.charCodeAt(0));
    } catch {
      continue;
    }
    if (bytes.length < 32) continue;
    const key = await crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    keys.set(kid, { key, kidBytes: enc.encode(kid) });
  }
  const idle = Number(env.SESSION_IDLE_TTL || 604800);
  return {
    keys,
    cookieName: env.COOKIE_NAME || '__Host-session',
    keyPrefix: env.KEY_PREFIX || '',
    origin: env.ORIGIN_URL ? new URL(env.ORIGIN_URL) : null,
    allowedOrigins: new Set(String(env.ALLOWED_ORIGINS || '').split(',').map((s) => s.trim()).filter(Boolean)),
    idleTtlMs: idle * 1000,
  };
}

// --- tokens -------------------------------------------------------------------
function parseToken(token) {
  if (token.length > 256) return null;
  const parts = token.split('.');
  if (parts.length !== 5 || parts[0] !== 'es1' || !KID_RE.test(parts[1])) return null;
  // A session id is 32 bytes (owner tag + random; 43 chars) or, issued before
  // the strong mode, 16 (22 chars).
  const id = b64urlDecode(parts[2], parts[2].length === 43 ? 32 : 16);
  const secret = b64urlDecode(parts[3], 32);
  const tag = b64urlDecode(parts[4], 32);
  if (!id || !secret || !tag) return null;
  return { kid: parts[1], idText: parts[2], id, secret, tag };
}

/** The parsed token when its tag verifies under its key, else null (no KV read). */
async function verifyTag(cfg, token) {
  const t = parseToken(token);
  if (!t) return null;
  const k = cfg.keys.get(t.kid);
  if (!k) return null;
  const data = concat(TAG_DOMAIN, k.kidBytes, [0], t.id, t.secret);
  return (await crypto.subtle.verify('HMAC', k.key, t.tag, data)) ? t : null;
}

function bearerToken(value) {
  const h = value.trim();
  if (h.length < 8 || h.slice(0, 6).toLowerCase() !== 'bearer' || (h[6] !== ' ' && h[6] !== '\t')) return null;
  return h.slice(7).trim() || null;
}

function cookieValues(header, name) {
  const out = [];
  if (!header || header.length > 32 * 1024) return out;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let v = pair.slice(eq + 1).trim();
    if (v.length >= 2 && v[0] === '"' && v[v.length - 1] === '"') v = v.slice(1, -1);
    if (v) out.push(v);
    if (out.length === 16) break;
  }
  return out;
}

/** {token, parsed|null, source} or null when the request carries no token. */
async function presentedToken(cfg, headers) {
  const auth = headers.get('authorization');
  const bearer = auth && bearerToken(auth);
  if (bearer) return { token: bearer, parsed: await verifyTag(cfg, bearer), source: 'bearer' };
  const values = cookieValues(headers.get('cookie'), cfg.cookieName);
  for (const v of values) {
    const parsed = await verifyTag(cfg, v);
    if (parsed) return { token: v, parsed, source: 'cookie' };
  }
  return values.length ? { token: values[0], parsed: null, source: 'cookie' } : null;
}

// --- answers ----------------------------------------------------------------
const TITLES = {
  unauthorized: [401, 'Unauthorized', 'This request needs a session.'],
  invalid_token: [401, 'Invalid token', 'The session token is not valid.'],
  session_expired: [401, 'Session expired', 'The session has expired.'],
  csrf: [403, 'Cross-site request refused', 'The Origin of this request is not allowed.'],
  store_unavailable: [503, 'Store unavailable', 'The session store could not be reached.'],
  misconfigured: [503, 'Misconfigured', 'TOKEN_KEYS is missing or invalid.'],
  origin_unavailable: [502, 'Origin unavailable', 'The origin could not be reached.'],
};

function problem(code) {
  const [status, title, detail] = TITLES[code];
  return new Response(JSON.stringify({ type: 'about:blank', title, status, detail, code }), {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
  });
}

function isSessionHeader(name) {
  return name.length >= 10 && name.slice(0, 10).replace(/_/g, '-') === 'x-session-';
}

function isHandoffHeader(name) {
  const n = name.replace(/_/g, '-');
  return n === 'x-session-issue' || n === 'x-session-revoke';
}

function csrfOk(cfg, method, headers, url) {
  if (SAFE_METHODS.has(method)) return true;
  const origin = headers.get('origin');
  if (!origin) return false;
  const o = origin.trim().toLowerCase().replace(/\/$/, '');
  return o === url.origin || cfg.allowedOrigins.has(o);
}

// --- sliding expiration (rare; never due in the benchmark) -------------------
const slideClaims = new Map(); // session id -> ms until which this isolate holds the claim

function slideDue(cfg, record, now) {
  const idleMs = (record.idleTtl ? record.idleTtl * 1000 : cfg.idleTtlMs);
  if (record.expiresAt - now >= idleMs / 2 || record.expiresAt >= record.absoluteExpiresAt) return false;
  if ((slideClaims.get(record.id) || 0) > now) return false;
  slideClaims.set(record.id, now + idleMs / 2);
  return true;
}

async function slide(env, cfg, key, record, now) {
  const raw = await env.SESSIONS.get(key);
  if (!raw) return;
  const current = JSON.parse(raw);
  if (current.secretHash !== record.secretHash) return; // replaced or revoked meanwhile
  const idleMs = current.idleTtl * 1000;
  current.expiresAt = Math.min(now + idleMs, current.absoluteExpiresAt);
  current.lastSeenAt = now;
  const ttl = Math.max(60, Math.ceil((current.absoluteExpiresAt - now) / 1000) + 86400);
  await env.SESSIONS.put(key, JSON.stringify(current), { expirationTtl: ttl });
}

// --- the guard ---------------------------------------------------------------
export default {
  async fetch(request, env, ctx) {
    const cfg = await config(env);
    if (cfg.keys.size === 0) return problem('misconfigured');
    const url = new URL(request.url);
    const headers = request.headers;

    const presented = await presentedToken(cfg, headers);
    if (!presented) return problem('unauthorized');
    if (presented.source === 'cookie' && !csrfOk(cfg, request.method, headers, url)) return problem('csrf');
    const t = presented.parsed;
    if (!t) return problem('invalid_token'); // malformed or forged: no KV read

    const key = `${cfg.keyPrefix}s:${t.idText}`;
    let raw;
    try {
      raw = await env.SESSIONS.get(key);
    } catch {
      return problem('store_unavailable');
    }
    if (raw === null) return problem('invalid_token');
    let record;
    try {
      record = JSON.parse(raw);
    } catch {
      return problem('invalid_token');
    }
    if (!record || record.v !== 1 || record.id !== t.idText || typeof record.secretHash !== 'string') {
      return problem('invalid_token');
    }
    const stored = b64urlDecode(record.secretHash, 32);
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', concat(HASH_DOMAIN, t.id, t.secret)));
    if (!stored || !equalConstantTime(hash, stored)) return problem('invalid_token');
    const now = Date.now();
    if (now >= record.expiresAt || now >= record.absoluteExpiresAt) return problem('session_expired');

    // The headers the origin gets.
    const out = new Headers();
    for (const [name, value] of headers) {
      if (isSessionHeader(name) || OVERRIDE_HEADERS.has(name.replace(/_/g, '-'))) continue;
      if (name === 'cookie') {
        const kept = value
          .split(';')
          .filter((p) => {
            const eq = p.indexOf('=');
            return p.trim() && !(eq >= 0 && p.slice(0, eq).trim() === cfg.cookieName);
          })
          .map((p) => p.trim());
        if (kept.length) out.append('cookie', kept.join('; '));
        continue;
      }
      if (name === 'authorization' && presented.source === 'bearer') continue;
      out.append(name, value);
    }
    out.set('x-session-id', record.id);
    out.set('x-session-user', encodeURIComponent(record.userId));
    out.set('x-session-meta', b64urlEncode(enc.encode(JSON.stringify(record.meta ?? {}))));
    out.set('x-session-auth-time', String(Math.floor((record.authenticatedAt ?? record.createdAt) / 1000)));

    const target = cfg.origin ? new URL(url.pathname + url.search, cfg.origin) : url;
    const slideNow = slideDue(cfg, record, now);
    let response;
    try {
      response = await fetch(target, {
        method: request.method,
        headers: out,
        body: request.body,
        redirect: 'manual',
      });
    } catch {
      if (slideNow) slideClaims.delete(record.id);
      return problem('origin_unavailable');
    }
    let handoff = false;
    for (const name of response.headers.keys()) if (isHandoffHeader(name)) handoff = true;
    if (handoff || slideNow) {
      response = new Response(response.body, response);
      for (const name of [...response.headers.keys()]) if (isHandoffHeader(name)) response.headers.delete(name);
      if (slideNow) {
        if (presented.source === 'cookie') {
          const maxAge = Math.floor((Math.min(now + record.idleTtl * 1000, record.absoluteExpiresAt) - now) / 1000);
          response.headers.append(
            'set-cookie',
            `${cfg.cookieName}=${presented.token}; Max-Age=${maxAge}; Path=/; HttpOnly; Secure; SameSite=Lax`,
          );
        }
        ctx.waitUntil(slide(env, cfg, key, record, now).catch(() => {}));
      }
    }
    return response;
  },
};
