import { SessionApiError } from './errors.js';

/** The fetch the client calls: the global one unless injected. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /**
   * Origin (and optional path) the Worker answers on, e.g. `https://app.example`.
   * Default `''`: same origin as the page (relative URLs; browsers only).
   */
  baseUrl?: string;
  /** Where the session API is mounted (the Worker's API_PREFIX). Default `/auth`. */
  apiPrefix?: string;
  /** fetch implementation (tests, SSR, a wrapped fetch). Default: `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * `value` as one segment of an API path, percent-encoded: `userId` in
 * `/admin/users/{userId}/sessions`, say. Throws `invalid_argument` naming
 * `field` (nothing is sent) when no segment can carry it: not a string,
 * empty (`/admin/users//sessions`), `.` or `..` (dot segments, which a URL
 * resolves away: `/admin/users/../sessions` is the listing of every
 * session; encoding does not help, `%2e` is a dot there too), or holding a
 * lone surrogate (no UTF-8 for it).
 */
export function pathSegment(field: string, value: unknown): string {
  const refuse = (why: string, cause?: unknown): never => {
    throw SessionApiError.client('invalid_argument', `${field} ${why}: no request path can carry it`, 0, cause, field);
  };
  if (typeof value !== 'string') return refuse('is not a string');
  if (value === '' || value === '.' || value === '..') return refuse(value === '' ? 'is empty' : `is "${value}"`);
  try {
    return encodeURIComponent(value);
  } catch (e) {
    return refuse('holds a lone surrogate', e);
  }
}

const MERGE_PATCH = 'application/merge-patch+json';
const JSON_CT = 'application/json';

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the API prefix, already encoded, e.g. `/session`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Serialized as JSON; `patch: true` sends it as a JSON merge patch. */
  body?: unknown;
  patch?: boolean;
  headers?: Record<string, string>;
  credentials?: RequestCredentials;
  signal?: AbortSignal | undefined;
}

/** Sends requests to the API and turns every failure into a SessionApiError. */
export class Transport {
  readonly baseUrl: string;
  readonly apiPrefix: string;
  private readonly fetchImpl: FetchLike | undefined;
  private readonly headers: Record<string, string>;

  constructor(opts: TransportOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/+$/, '');
    const prefix = opts.apiPrefix ?? '/auth';
    this.apiPrefix = prefix === '' || prefix === '/' ? '' : '/' + prefix.replace(/^\/+|\/+$/g, '');
    this.fetchImpl = opts.fetch;
    this.headers = { ...(opts.headers ?? {}) };
  }

  /** The absolute (or, with baseUrl '', root-relative) URL of an API path. */
  url(path: string, query?: RequestSpec['query']): string {
    let qs = '';
    if (query) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
      }
      if (parts.length) qs = '?' + parts.join('&');
    }
    return this.baseUrl + this.apiPrefix + path + qs;
  }

  /** The parsed JSON of a 2xx answer (undefined for 204), or throws SessionApiError. */
  async request<T>(spec: RequestSpec): Promise<T> {
    const headers: Record<string, string> = { accept: JSON_CT, ...this.headers, ...(spec.headers ?? {}) };
    const init: RequestInit = { method: spec.method, headers };
    if (spec.credentials) init.credentials = spec.credentials;
    if (spec.signal) init.signal = spec.signal;
    if (spec.body !== undefined) {
      headers['content-type'] = spec.patch ? MERGE_PATCH : JSON_CT;
      init.body = JSON.stringify(spec.body);
    }
    const fetchImpl = this.fetchImpl ?? (globalThis.fetch as FetchLike | undefined);
    if (!fetchImpl) throw SessionApiError.client('network_error', 'no fetch available: pass options.fetch');
    let res: Response;
    try {
      res = await fetchImpl(this.url(spec.path, spec.query), init);
    } catch (e) {
      if (spec.signal?.aborted || (e as { name?: string } | null)?.name === 'AbortError') {
        throw SessionApiError.client('aborted', 'the request was aborted', 0, e);
      }
      throw SessionApiError.client('network_error', `${spec.method} ${spec.path}: ${(e as Error)?.message ?? String(e)}`, 0, e);
    }
    if (res.status >= 400) throw await SessionApiError.fromResponse(res);
    if (res.status < 200 || res.status >= 300) {
      await res.body?.cancel();
      throw SessionApiError.client('unexpected_response', `HTTP ${res.status}: not an answer of this API`, res.status);
    }
    if (res.status === 204) {
      await res.body?.cancel();
      return undefined as T;
    }
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw SessionApiError.client('unexpected_response', `HTTP ${res.status} with a body that is not JSON`, res.status, e);
    }
  }
}
