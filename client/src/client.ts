import { pathSegment, Transport, type CallOptions, type TransportOptions } from './http.js';
import type { HolderPatch, Session, SessionSummary } from './types.js';

export interface SessionClientOptions extends TransportOptions {
  /**
   * A session token sent as `Authorization: Bearer` (non-browser use, or a
   * token kept by the app). A function is called before every request.
   * Without it the browser's session cookie authenticates.
   */
  token?: string | (() => string | null | undefined | Promise<string | null | undefined>);
  /** fetch `credentials`. Default `'include'`, so the cookie goes along cross-origin too (needs ALLOWED_ORIGINS). */
  credentials?: RequestCredentials;
}

/**
 * The self-service API: calls authenticated by the session's own token (the
 * cookie in a browser, or `token`).
 */
export class SessionClient {
  readonly transport: Transport;
  private readonly token: SessionClientOptions['token'];
  private readonly credentials: RequestCredentials;

  constructor(opts: SessionClientOptions = {}) {
    this.transport = new Transport(opts);
    this.token = opts.token;
    this.credentials = opts.credentials ?? 'include';
  }

  private async call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, o: CallOptions = {},
    extra: { body?: unknown; patch?: boolean; query?: Record<string, string> } = {}): Promise<T> {
    const token = typeof this.token === 'function' ? await this.token() : this.token;
    return this.transport.request<T>({
      method, path, credentials: this.credentials, signal: o.signal, ...extra,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  }

  /** `GET /session`: the current session. */
  getSession(o?: CallOptions): Promise<Session> {
    return this.call('GET', '/session', o);
  }

  /**
   * `PATCH /session` (JSON merge patch): change the label (`null` clears it).
   * The holder cannot change `meta`: the API answers 403 `forbidden`, `field: "meta"`.
   */
  updateSession(patch: HolderPatch, o?: CallOptions): Promise<Session> {
    return this.call('PATCH', '/session', o, { body: patch, patch: true });
  }

  /** `POST /session/refresh`: `expiresAt` = now + idle TTL (capped); the cookie is re-issued. */
  refresh(o?: CallOptions): Promise<Session> {
    return this.call('POST', '/session/refresh', o);
  }

  /** `DELETE /session`: revoke this session and clear the cookie. */
  async signOut(o?: CallOptions): Promise<void> {
    await this.call('DELETE', '/session', o);
  }

  /** `GET /sessions`: the user's live sessions, `current` marking this one. */
  async listSessions(o?: CallOptions): Promise<SessionSummary[]> {
    return (await this.call<{ sessions: SessionSummary[] }>('GET', '/sessions', o)).sessions;
  }

  /**
   * `DELETE /sessions/{id}`: revoke one of the user's sessions (404 `not_found` when not theirs;
   * `invalid_argument`, nothing sent, for an id no path can carry: empty, `.`, `..`).
   */
  async revokeSession(id: string, o?: CallOptions): Promise<void> {
    await this.call('DELETE', `/sessions/${pathSegment('id', id)}`, o);
  }

  /** `DELETE /sessions?others=true`: revoke every other session of the user; answers how many. */
  async revokeOtherSessions(o?: CallOptions): Promise<number> {
    return (await this.call<{ revoked: number }>('DELETE', '/sessions', o, { query: { others: 'true' } })).revoked;
  }

  /** `DELETE /sessions`: revoke every session of the user, this one included; answers how many. */
  async revokeAllSessions(o?: CallOptions): Promise<number> {
    return (await this.call<{ revoked: number }>('DELETE', '/sessions', o)).revoked;
  }
}
