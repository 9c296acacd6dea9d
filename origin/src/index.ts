/**
 * Verifies the identity assertion the edge-session Worker adds to every
 * request it forwards with a session (`X-Session-Assertion`, an ES256 JWT),
 * against the Worker's published keys (`{API_PREFIX}/.well-known/jwks.json`).
 * An origin that checks it trusts who the Worker says the user is, and no
 * one else: plain `X-Session-User` headers sent straight to the origin prove
 * nothing.
 *
 * ```js
 * import { verifyAssertion } from '@edge-session/origin';
 * const who = await verifyAssertion(request, {
 *   jwksUrl: 'https://app.example.com/auth/.well-known/jwks.json',
 *   issuer: 'https://app.example.com',    // ASSERTION_ISSUER, default: the Worker's origin
 *   audience: 'https://origin.example',   // ASSERTION_AUDIENCE, default: ORIGIN_URL's origin
 * });
 * who.userId; who.sessionId; who.roles; who.authTime;
 * ```
 *
 * The JWKS is fetched once and kept (5 minutes, the `max-age` the Worker
 * serves it with); an assertion signed by a key it does not hold makes it
 * fetch the set again, at most once per 30 seconds (jose's
 * `createRemoteJWKSet`), so a key the Worker starts signing with is picked
 * up at once.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose';
import type { JWTPayload, RemoteJWKSetOptions } from 'jose';

/** The header carrying the assertion (HTTP header names are case-insensitive). */
export const ASSERTION_HEADER = 'x-session-assertion';
/** The longest `ASSERTION_TTL` the Worker accepts, in seconds: `exp - iat` is never more. */
export const MAX_TTL_SECONDS = 600;
/** How long the JWKS is kept, in milliseconds (the Worker's `Cache-Control: max-age=300`). */
export const JWKS_MAX_AGE_MS = 300_000;
/** The shortest time between two fetches of the JWKS for an unknown key, in milliseconds. */
export const JWKS_COOLDOWN_MS = 30_000;

export interface VerifyOptions {
  /** The Worker's JWKS: `https://<worker host>{API_PREFIX}/.well-known/jwks.json`. */
  jwksUrl: string | URL;
  /** The expected `iss`: `ASSERTION_ISSUER`, by default the Worker's own origin. */
  issuer: string;
  /** The expected `aud`: `ASSERTION_AUDIENCE`, by default `ORIGIN_URL`'s origin. */
  audience: string;
  /** Seconds of clock difference tolerated on `exp` and `iat` (default 5). */
  clockTolerance?: number;
  /** The `fetch` that gets the JWKS (default: the global one). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Milliseconds after a fetch of the JWKS before an unknown `kid` may fetch it again (default 30 000). */
  jwksCooldownMs?: number;
}

/** The claims of a verified assertion. */
export interface AssertionClaims extends JWTPayload {
  iss: string;
  aud: string;
  /** The userId. */
  sub: string;
  /** The session id. */
  sid: string;
  iat: number;
  exp: number;
  /** When the user last proved who they are (the session's `authenticatedAt`), seconds. */
  auth_time: number;
  /** The session's `meta.roles` (its strings), `[]` without any. */
  roles: string[];
}

/** Who the request is from, as the Worker asserted it. */
export interface Identity {
  userId: string;
  sessionId: string;
  roles: string[];
  /** When the user last proved who they are, in seconds since the epoch. */
  authTime: number;
  /** Every claim, as verified. */
  claims: AssertionClaims;
}

/** Why a request has no verified identity. */
export type AssertionErrorCode =
  /** No `X-Session-Assertion`: not forwarded by the Worker with a session. */
  | 'missing'
  /** Not a compact ES256 JWT of the Worker's shape. */
  | 'malformed'
  /** The signature does not verify: forged or altered. */
  | 'bad_signature'
  /** Signed by a key the Worker does not publish (not even after fetching its JWKS again). */
  | 'unknown_key'
  /** Past `exp`, or older than the Worker's longest TTL. */
  | 'expired'
  | 'wrong_issuer'
  | 'wrong_audience'
  /** A claim missing or of the wrong type. */
  | 'invalid_claims'
  /** The JWKS could not be fetched: the origin cannot tell (503, not 401). */
  | 'jwks_unavailable';

/** A request without a verified identity; `status` is what to answer (401, or 503 for `jwks_unavailable`). */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
  readonly code: AssertionErrorCode;
  readonly status: 401 | 503;

  constructor(code: AssertionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = code === 'jwks_unavailable' ? 503 : 401;
  }
}

/** A Fetch `Request`, a `Headers`, or a Node `IncomingMessage` (what Express, Connect and `node:http` pass). */
export type RequestLike =
  | Request
  | Headers
  | { headers: Headers | Record<string, string | string[] | undefined> };

type KeySet = ReturnType<typeof createRemoteJWKSet>;
type FetchLike = NonNullable<VerifyOptions['fetch']>;

/** One key set per JWKS URL and cooldown (and per custom fetch), shared by every call. */
const keySets = new Map<string, KeySet>();
const keySetsByFetch = new WeakMap<FetchLike, Map<string, KeySet>>();

function keySet(options: VerifyOptions): KeySet {
  const url = new URL(options.jwksUrl);
  const cooldown = options.jwksCooldownMs ?? JWKS_COOLDOWN_MS;
  const fetchImpl = options.fetch;
  let sets = keySets;
  if (fetchImpl !== undefined) {
    sets = keySetsByFetch.get(fetchImpl) ?? new Map();
    keySetsByFetch.set(fetchImpl, sets);
  }
  const name = `${cooldown} ${url.href}`;
  let set = sets.get(name);
  if (set === undefined) {
    const jwksOptions: RemoteJWKSetOptions = { cacheMaxAge: JWKS_MAX_AGE_MS, cooldownDuration: cooldown };
    if (fetchImpl !== undefined) jwksOptions[customFetch] = fetchImpl;
    set = createRemoteJWKSet(url, jwksOptions);
    sets.set(name, set);
  }
  return set;
}

/** The `X-Session-Assertion` of a request (`undefined` when it has none). */
export function assertionOf(request: RequestLike): string | undefined {
  const headers = request instanceof Headers ? request : request.headers;
  if (headers instanceof Headers) return headers.get(ASSERTION_HEADER) ?? undefined;
  const value = headers[ASSERTION_HEADER];
  if (Array.isArray(value)) {
    if (value.length !== 1) throw new AssertionError('malformed', 'X-Session-Assertion is sent more than once');
    return value[0];
  }
  return value;
}

function check(options: VerifyOptions): void {
  for (const name of ['issuer', 'audience'] as const) {
    if (typeof options?.[name] !== 'string' || options[name] === '') {
      throw new TypeError(`verifyAssertion: options.${name} is required (a string)`);
    }
  }
  if (options.jwksUrl === undefined) throw new TypeError('verifyAssertion: options.jwksUrl is required');
}

function classify(error: unknown): AssertionError {
  if (error instanceof AssertionError) return error;
  const because = { cause: error };
  if (error instanceof errors.JWTExpired) return new AssertionError('expired', 'the assertion has expired', because);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new AssertionError('wrong_issuer', 'the assertion is from another issuer', because);
    if (error.claim === 'aud') return new AssertionError('wrong_audience', 'the assertion is for another audience', because);
    return new AssertionError('invalid_claims', `the assertion's "${error.claim}" is not valid`, because);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AssertionError('bad_signature', 'the assertion signature does not verify', because);
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new AssertionError('unknown_key', 'the assertion is signed by a key the Worker does not publish', because);
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSEAlgNotAllowed
    || error instanceof errors.JOSENotSupported) {
    return new AssertionError('malformed', 'the assertion is not an ES256 JWT of the Worker', because);
  }
  return new AssertionError('jwks_unavailable', "the Worker's JWKS could not be fetched", because);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isSeconds = (v: unknown): v is number => Number.isSafeInteger(v);

/**
 * Verifies the request's `X-Session-Assertion`: an ES256 JWT signed by a key
 * of the JWKS at `jwksUrl`, for `issuer` and `audience`, not expired, no
 * longer-lived than the Worker ever signs, with every claim of the Worker's.
 * Throws an {@link AssertionError} otherwise.
 */
export async function verifyAssertion(request: RequestLike, options: VerifyOptions): Promise<Identity> {
  check(options);
  const token = assertionOf(request);
  if (token === undefined || token === '') {
    throw new AssertionError('missing', 'the request carries no X-Session-Assertion: it did not come through the Worker with a session');
  }
  const tolerance = options.clockTolerance ?? 5;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySet(options), {
      algorithms: ['ES256'],
      typ: 'JWT',
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: tolerance,
      maxTokenAge: MAX_TTL_SECONDS + tolerance,
      requiredClaims: ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'auth_time', 'roles'],
    }));
  } catch (error) {
    throw classify(error);
  }
  const { sub, sid, iat, exp, auth_time: authTime, roles } = payload;
  if (!isString(sub) || sub === '' || !isString(sid) || sid === '' || !isSeconds(iat) || !isSeconds(exp)
    || !isSeconds(authTime) || !Array.isArray(roles) || !roles.every(isString) || !isString(payload.aud)) {
    throw new AssertionError('invalid_claims', "the assertion's claims are not the Worker's");
  }
  if (exp - iat > MAX_TTL_SECONDS) {
    throw new AssertionError('invalid_claims', `the assertion lives longer than ${MAX_TTL_SECONDS} seconds`);
  }
  return { userId: sub, sessionId: sid, roles: [...roles], authTime, claims: payload as AssertionClaims };
}

/** The problem+json answer (RFC 9457) for an {@link AssertionError}. */
export function errorResponse(error: AssertionError): Response {
  return new Response(JSON.stringify(problemOf(error)), {
    status: error.status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
  });
}

function problemOf(error: AssertionError) {
  const title = error.status === 401 ? 'Unauthorized' : 'Service unavailable';
  return { type: 'about:blank', title, status: error.status, detail: error.message, code: error.code };
}

/** Node's `ServerResponse`, as much of it as the middleware uses. */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/** A Node request after the middleware: its `identity`. */
export type WithIdentity<T> = T & { identity: Identity };

export interface NodeMiddlewareOptions<Req, Res> extends VerifyOptions {
  /** What to do when there is no verified identity (default: answer the error's status with problem+json). */
  onError?: (error: AssertionError, req: Req, res: Res, next: (error?: unknown) => void) => void;
}

/**
 * Express / Connect / `node:http` middleware: sets `req.identity` and calls
 * `next()`, or answers 401 (503 when the JWKS cannot be fetched).
 *
 * ```js
 * app.use(nodeMiddleware({ jwksUrl, issuer, audience }));
 * app.get('/me', (req, res) => res.json(req.identity));
 * ```
 */
export function nodeMiddleware<Req extends { headers: Record<string, string | string[] | undefined> }, Res extends NodeResponseLike>(
  options: NodeMiddlewareOptions<Req, Res>,
): (req: Req, res: Res, next: (error?: unknown) => void) => void {
  check(options);
  return (req, res, next) => {
    verifyAssertion(req, options).then(
      (identity) => {
        (req as WithIdentity<Req>).identity = identity;
        next();
      },
      (error: unknown) => {
        const refused = classify(error);
        if (options.onError) return options.onError(refused, req, res, next);
        res.statusCode = refused.status;
        res.setHeader('content-type', 'application/problem+json');
        res.setHeader('cache-control', 'no-store');
        res.end(JSON.stringify(problemOf(refused)));
      },
    );
  };
}

/**
 * Fetch-API handler wrapper (Workers, Deno, Bun, Node's `Request`): calls
 * `handler(request, identity, ...rest)`, or answers 401 / 503.
 *
 * ```js
 * export default { fetch: withIdentity({ jwksUrl, issuer, audience }, (req, who) => Response.json(who)) };
 * ```
 */
export function withIdentity<Rest extends unknown[]>(
  options: VerifyOptions,
  handler: (request: Request, identity: Identity, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Promise<Response> {
  check(options);
  return async (request, ...rest) => {
    let identity: Identity;
    try {
      identity = await verifyAssertion(request, options);
    } catch (error) {
      return errorResponse(classify(error));
    }
    return handler(request, identity, ...rest);
  };
}

/** Hono's `Context`, as much of it as the middleware uses. */
export interface HonoContextLike {
  req: { raw: Request };
  set(key: 'identity', value: Identity): void;
}

/**
 * Hono middleware: `c.get('identity')` in the handlers, or a 401 / 503 answer.
 *
 * ```js
 * app.use('*', honoMiddleware({ jwksUrl, issuer, audience }));
 * app.get('/me', (c) => c.json(c.get('identity')));
 * ```
 */
export function honoMiddleware(options: VerifyOptions): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | void> {
  check(options);
  return async (c, next) => {
    try {
      c.set('identity', await verifyAssertion(c.req.raw, options));
    } catch (error) {
      return errorResponse(classify(error));
    }
    await next();
  };
}
