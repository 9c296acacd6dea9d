import { pathSegment, Transport, type CallOptions, type TransportOptions } from './http.js';
import type {
  CreatedSession, ListQuery, NewSession, Session, SessionPage, SessionPatch, SessionSummary,
} from './types.js';

export interface AdminClientOptions extends TransportOptions {
  /** The Worker's ADMIN_KEY, sent as `Authorization: Bearer`. Keep it on the server. */
  adminKey: string;
}

export interface ListAllOptions extends CallOptions {
  /** Page size, 1..1000 (the API's default 100). */
  limit?: number;
  /** Resume after a page's cursor. */
  cursor?: string;
}

/** The admin API, for backends (`Authorization: Bearer ADMIN_KEY`). */
export class AdminClient {
  readonly transport: Transport;
  private readonly auth: Record<string, string>;

  constructor(opts: AdminClientOptions) {
    if (!opts || typeof opts.adminKey !== 'string' || opts.adminKey === '') {
      throw new TypeError('AdminClient needs options.adminKey');
    }
    this.transport = new Transport(opts);
    this.auth = { authorization: `Bearer ${opts.adminKey}` };
  }

  private call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, o: CallOptions = {},
    extra: { body?: unknown; patch?: boolean; query?: Record<string, string | number | undefined> } = {}): Promise<T> {
    return this.transport.request<T>({ method, path, headers: this.auth, credentials: 'omit', signal: o.signal, ...extra });
  }

  /** `POST /admin/sessions`: create a session; answers the token (shown once) and the session. */
  createSession(input: NewSession, o?: CallOptions): Promise<CreatedSession> {
    return this.call('POST', '/admin/sessions', o, { body: input });
  }

  /** `POST /admin/verify`: the session of a token (401 `invalid_token` / `session_expired` otherwise). */
  verify(token: string, o?: CallOptions): Promise<Session> {
    return this.call('POST', '/admin/verify', o, { body: { token } });
  }

  /** `GET /admin/sessions`: one page of all sessions. */
  listSessions(query: ListQuery = {}, o?: CallOptions): Promise<SessionPage> {
    const q: Record<string, string | number | undefined> = { limit: query.limit, cursor: query.cursor };
    return this.call('GET', '/admin/sessions', o, { query: q });
  }

  /** Every page of all sessions, following the cursor (`limit` per page). */
  async *listPages(opts: ListAllOptions = {}): AsyncGenerator<SessionPage, void, undefined> {
    let cursor: string | undefined = opts.cursor;
    for (;;) {
      const q: ListQuery = {};
      if (opts.limit !== undefined) q.limit = opts.limit;
      if (cursor !== undefined) q.cursor = cursor;
      const page = await this.listSessions(q, opts.signal ? { signal: opts.signal } : undefined);
      yield page;
      if (page.cursor === null || page.cursor === undefined || page.cursor === '') return;
      cursor = page.cursor;
    }
  }

  /**
   * Every session summary, page after page (`limit` per request):
   * `for await (const s of admin.listAll({ limit: 500 })) …`
   */
  async *listAll(opts: ListAllOptions = {}): AsyncGenerator<SessionSummary, void, undefined> {
    for await (const page of this.listPages(opts)) yield* page.sessions;
  }

  // Every call with an id in its path rejects with `invalid_argument` for an
  // id no path can carry (see pathSegment): `..` would name another route.

  /** `GET /admin/sessions/{id}` (404 `not_found`). */
  async getSessionById(id: string, o?: CallOptions): Promise<Session> {
    return this.call('GET', `/admin/sessions/${pathSegment('id', id)}`, o);
  }

  /** `PATCH /admin/sessions/{id}`: JSON merge patch of label and meta (`meta: {roles: null}` removes roles). */
  async patchSessionById(id: string, patch: SessionPatch, o?: CallOptions): Promise<Session> {
    return this.call('PATCH', `/admin/sessions/${pathSegment('id', id)}`, o, { body: patch, patch: true });
  }

  /** `DELETE /admin/sessions/{id}` (404 `not_found`). */
  async deleteSessionById(id: string, o?: CallOptions): Promise<void> {
    await this.call('DELETE', `/admin/sessions/${pathSegment('id', id)}`, o);
  }

  /** `GET /admin/users/{userId}/sessions`: the user's live sessions. */
  async listUserSessions(userId: string, o?: CallOptions): Promise<SessionSummary[]> {
    const r = await this.call<{ sessions: SessionSummary[] }>('GET', `/admin/users/${pathSegment('userId', userId)}/sessions`, o);
    return r.sessions;
  }

  /** `DELETE /admin/users/{userId}/sessions`: revoke every session of the user; answers how many. */
  async revokeUserSessions(userId: string, o?: CallOptions): Promise<number> {
    const r = await this.call<{ revoked: number }>('DELETE', `/admin/users/${pathSegment('userId', userId)}/sessions`, o);
    return r.revoked;
  }
}
