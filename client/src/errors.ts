import type { components } from './schema.js';

/** A problem body of the API (RFC 9457), as openapi.json describes it. */
export type Problem = components['schemas']['Problem'];

/** The `code` of every problem the Worker answers (contract §7). */
export type ProblemCode = Problem['code'];

/**
 * Codes the client adds for failures that are not a problem of the API:
 * - `network_error`: fetch itself failed (offline, DNS, refused, CORS); `status` 0.
 * - `aborted`: the request's `AbortSignal` fired; `status` 0.
 * - `unexpected_response`: an answer the API never gives: an error status
 *   without an `application/problem+json` body (a proxy's HTML page, say),
 *   a problem with an unknown code, or a success body that is not JSON.
 * - `invalid_argument`: an argument no request can carry (an id that is
 *   empty, `.` or `..`, say); nothing was sent; `status` 0, `field` names it.
 */
export type ClientErrorCode = 'network_error' | 'aborted' | 'unexpected_response' | 'invalid_argument';

export type SessionApiErrorCode = ProblemCode | ClientErrorCode;

/** Every code of contract §7, in its order. */
export const PROBLEM_CODES: readonly ProblemCode[] = Object.freeze([
  'invalid_request', 'payload_too_large', 'unsupported_media_type', 'method_not_allowed',
  'not_found', 'unauthorized', 'invalid_token', 'session_expired', 'reauthentication_required',
  'forbidden', 'csrf', 'rate_limited', 'admin_disabled', 'misconfigured', 'store_unavailable',
  'origin_unavailable',
] as const);

const CLIENT_TYPE_BASE = 'about:blank#edge-session-client/';

/** Every error of the client: a problem answered by the API, or a client-side failure. */
export class SessionApiError extends Error {
  override readonly name = 'SessionApiError';
  /** HTTP status; 0 when no response arrived (`network_error`, `aborted`). */
  readonly status: number;
  readonly code: SessionApiErrorCode;
  /** Short summary, the same for every occurrence of a code (for humans). */
  readonly title: string;
  /** Human-readable explanation (for humans: switch on `code`). */
  readonly detail: string;
  /** The problem `type` URI (`https://edge-session.dev/problems/{code}` from the API). */
  readonly type: string;
  /** The field at fault: 400 `invalid_request`, 403 `forbidden` on `meta`, the argument of `invalid_argument`. */
  readonly field?: string;
  /** The problem body as answered, when there was one. */
  readonly problem?: Problem;

  constructor(init: {
    status: number; code: SessionApiErrorCode; title: string; detail: string; type: string;
    field?: string; problem?: Problem; cause?: unknown;
  }) {
    super(`${init.code} (${init.status}): ${init.detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.detail = init.detail;
    this.type = init.type;
    if (init.field !== undefined) this.field = init.field;
    if (init.problem !== undefined) this.problem = init.problem;
  }

  /** true for the 401s that mean "no usable session": unauthorized, invalid_token, session_expired. */
  get isUnauthenticated(): boolean {
    return this.code === 'unauthorized' || this.code === 'invalid_token' || this.code === 'session_expired';
  }

  /**
   * The error of a failed response (status >= 400). Reads the body. Use it on
   * responses of your own calls (a guarded path, say) to get the same errors.
   */
  static async fromResponse(res: Response): Promise<SessionApiError> {
    const text = await res.text().catch(() => '');
    const ct = (res.headers.get('content-type') || '').split(';')[0]!.trim().toLowerCase();
    if (ct === 'application/problem+json') {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (isProblem(body)) {
        return new SessionApiError({
          status: res.status, code: body.code, title: body.title, detail: body.detail, type: body.type,
          ...(typeof body.field === 'string' ? { field: body.field } : {}), problem: body,
        });
      }
    }
    return SessionApiError.client('unexpected_response',
      `HTTP ${res.status} without a problem body of this API${ct ? ` (${ct})` : ''}`, res.status);
  }

  /** A client-side error (`network_error`, `aborted`, `unexpected_response`, `invalid_argument` with `field`). */
  static client(code: ClientErrorCode, detail: string, status = 0, cause?: unknown, field?: string): SessionApiError {
    const titles: Record<ClientErrorCode, string> = {
      network_error: 'Network error', aborted: 'Request aborted', unexpected_response: 'Unexpected response',
      invalid_argument: 'Invalid argument',
    };
    return new SessionApiError({
      status, code, title: titles[code], detail, type: CLIENT_TYPE_BASE + code,
      ...(cause === undefined ? {} : { cause }), ...(field === undefined ? {} : { field }),
    });
  }
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const p = body as Record<string, unknown>;
  return typeof p.code === 'string' && (PROBLEM_CODES as readonly string[]).includes(p.code)
    && typeof p.status === 'number' && typeof p.title === 'string' && typeof p.detail === 'string'
    && typeof p.type === 'string';
}

/** Narrows `e` to a SessionApiError, optionally of one of `codes`. */
export function isSessionApiError(e: unknown, ...codes: SessionApiErrorCode[]): e is SessionApiError {
  return e instanceof SessionApiError && (codes.length === 0 || codes.includes(e.code));
}
