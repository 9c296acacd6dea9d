import { pathToFileURL } from 'node:url';

// The Worker's configuration for the demo: one place, read by `npm run dev`
// (scripts/dev.sh passes these as `wrangler dev --var`s) and by the browser
// tests (tests/browser/), which start the built Worker in Miniflare with them.

/** Seconds a sign-in stays recent enough for the sensitive page (`fresh`). */
export const FRESH_SECONDS = 300;

/**
 * GUARD_RULES of the demo: first match wins; unmatched paths need a session.
 * `/app/email` (change your e-mail) needs a sign-in at most `fresh` seconds
 * old: an older one is sent to sign in again (`/login?…&reauth=1`).
 */
export function demoRules({ fresh = FRESH_SECONDS } = {}) {
  return [
    { path: '/', access: 'public' },
    { path: '/login', access: 'public' },
    { path: '/logout', access: 'public' },
    { path: '/public/**', access: 'public' },
    { path: '/admin/**', access: 'role:admin' },
    { path: '/app/email', access: 'session', fresh },
  ];
}

/** The rules as `npm run dev` serves them. */
export const rules = demoRules();

/** Where browser navigations without a session are sent (`?next=` added by the Worker). */
export const loginUrl = '/login';

/**
 * The identity assertion the demo verifies (with origin/, the verifier
 * package): `iss` and `aud` are fixed names, so that the demo can be reached
 * as 127.0.0.1, localhost or any other host name. `ASSERTION_KEYS`, a secret,
 * comes from `.dev.vars` (scripts/setup.sh makes one) or the test's stack.
 */
export const assertion = { issuer: 'edge-session-demo', audience: 'edge-session-demo-origin' };

/** The Worker's JWKS, where the demo finds the keys its assertions are signed with. */
export function jwksUrl(workerUrl) {
  return new URL('/auth/.well-known/jwks.json', workerUrl).href;
}

/**
 * The Worker's vars in front of the demo origin at `originUrl` (`fresh` as in
 * demoRules): only the signed assertion tells the origin who the user is.
 */
export function workerVars(originUrl, options = {}) {
  return {
    ORIGIN_URL: originUrl,
    LOGIN_URL: loginUrl,
    GUARD_RULES: JSON.stringify(demoRules(options)),
    IDENTITY_HEADERS: 'assertion',
    ASSERTION_ISSUER: assertion.issuer,
    ASSERTION_AUDIENCE: assertion.audience,
  };
}

// `node examples/demo/config.mjs http://127.0.0.1:8788` prints one
// `NAME:value` line per var, the form `wrangler dev --var` takes.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const origin = process.argv[2] || 'http://127.0.0.1:8788';
  for (const [k, v] of Object.entries(workerVars(origin))) console.log(`${k}:${v}`);
}
