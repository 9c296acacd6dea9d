// A small framework-free session store for pages: the current session,
// subscribe/unsubscribe, refetch on window focus (rate-limited), and sync
// across tabs through BroadcastChannel. Without window or BroadcastChannel
// (SSR, Node) it works the same, minus those two.
import { SessionApiError } from './errors.js';
import type { SessionClient } from './client.js';
import type { HolderPatch, Session, SessionSummary } from './types.js';

export type SessionStatus = 'idle' | 'loading' | 'signed-in' | 'signed-out' | 'error';

export interface SessionState {
  /**
   * `idle`: nothing fetched yet; `loading`: first fetch under way;
   * `signed-in` / `signed-out`; `error`: the last fetch failed for another
   * reason (network, 503): `session` keeps the last one known.
   */
  readonly status: SessionStatus;
  readonly session: Session | null;
  /** Why the last fetch failed, or why the session ended (a 401's code). */
  readonly error: SessionApiError | null;
  /** When the state was last settled from the API (ms since epoch), null before. */
  readonly updatedAt: number | null;
}

export type SessionListener = (state: SessionState, previous: SessionState) => void;

/** The part of BroadcastChannel the store uses (inject one in tests). */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close?(): void;
}

/** The calls of SessionClient the store makes. */
export type StoreClient = Pick<SessionClient,
  'getSession' | 'updateSession' | 'refresh' | 'signOut' | 'listSessions'
  | 'revokeSession' | 'revokeOtherSessions' | 'revokeAllSessions'>;

export interface SessionStoreOptions {
  client: StoreClient;
  /**
   * Where `focus` and `visibilitychange` are heard, to refetch when the page
   * comes back. Default: `window` when there is one; `false`: off.
   */
  focusTarget?: EventTarget | false;
  /** Least time between two focus refetches, in ms. Default 30 000. */
  focusRefetchInterval?: number;
  /**
   * Cross-tab sync. A name (a BroadcastChannel of that name is opened), a
   * channel, or `false`. Default: `'edge-session'` in a browser (window and
   * BroadcastChannel present), off elsewhere.
   */
  channel?: string | ChannelLike | false;
  /** The state before the first fetch (a session rendered on the server, say). */
  initial?: Session | null;
  /** Clock, in ms (tests). Default Date.now. */
  now?: () => number;
}

/** What tabs tell each other. */
export type SyncMessage =
  | { source: 'edge-session'; v: 1; type: 'signed-out'; sessionId: string | null }
  | { source: 'edge-session'; v: 1; type: 'changed'; sessionId: string | null };

export interface SessionStore {
  getState(): SessionState;
  /** Calls `listener` on every change; answers the unsubscribe. The first subscriber starts the first fetch. */
  subscribe(listener: SessionListener): () => void;
  /** Fetches the session now (concurrent calls share one request). */
  refetch(): Promise<SessionState>;
  /** Signs out, clears the state, and tells the other tabs. */
  signOut(): Promise<void>;
  updateSession(patch: HolderPatch): Promise<Session>;
  refresh(): Promise<Session>;
  listSessions(): Promise<SessionSummary[]>;
  /** Revokes one session; when it is this one, signs out here and in the other tabs. */
  revokeSession(id: string): Promise<void>;
  revokeOtherSessions(): Promise<number>;
  /** Revokes every session of the user, this one included: signed out everywhere. */
  revokeAllSessions(): Promise<number>;
  /** Tells the other tabs to refetch (after signing in through the origin, say). */
  announce(): void;
  /** Removes the listeners and closes the channel it opened. */
  destroy(): void;
}

const CHANNEL = 'edge-session';

function isSyncMessage(m: unknown): m is SyncMessage {
  const x = m as Partial<SyncMessage> | null;
  return typeof x === 'object' && x !== null && x.source === 'edge-session' && x.v === 1
    && (x.type === 'signed-out' || x.type === 'changed');
}

export function createSessionStore(opts: SessionStoreOptions): SessionStore {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const interval = opts.focusRefetchInterval ?? 30_000;
  const g = globalThis as { window?: EventTarget; document?: { visibilityState?: string }; BroadcastChannel?: new (name: string) => ChannelLike };

  let state: SessionState = opts.initial === undefined
    ? { status: 'idle', session: null, error: null, updatedAt: null }
    : { status: opts.initial ? 'signed-in' : 'signed-out', session: opts.initial, error: null, updatedAt: now() };
  const listeners = new Set<SessionListener>();
  /** Bumped by every change not made by a fetch: a fetch started before it is stale. */
  let generation = 0;
  let inflight: Promise<SessionState> | null = null;
  let lastFetchAt = -Infinity;
  let destroyed = false;

  function set(next: Omit<SessionState, 'updatedAt'> & { updatedAt?: number | null }) {
    const prev = state;
    state = { updatedAt: now(), ...next };
    for (const l of [...listeners]) {
      try {
        l(state, prev);
      } catch (e) {
        // One listener's failure must not stop the others or the store.
        queueMicrotask(() => { throw e; });
      }
    }
  }

  function signedOut(error: SessionApiError | null) {
    generation++;
    set({ status: 'signed-out', session: null, error });
  }

  /** A call's failure: a 401 means the session is gone. Rethrows. */
  function failed(e: unknown): never {
    if (e instanceof SessionApiError && e.isUnauthenticated) signedOut(e);
    throw e;
  }

  function refetch(): Promise<SessionState> {
    if (inflight) return inflight;
    lastFetchAt = now();
    const gen = generation;
    if (state.status === 'idle') set({ status: 'loading', session: null, error: null, updatedAt: null });
    inflight = (async () => {
      try {
        const session = await client.getSession();
        if (gen === generation && !destroyed) set({ status: 'signed-in', session, error: null });
      } catch (e) {
        if (gen === generation && !destroyed) {
          const err = e instanceof SessionApiError ? e : SessionApiError.client('network_error', String(e), 0, e);
          if (err.isUnauthenticated) set({ status: 'signed-out', session: null, error: err });
          else set({ status: 'error', session: state.session, error: err });
        }
      } finally {
        inflight = null;
      }
      return state;
    })();
    return inflight;
  }

  // Cross-tab sync.
  let channel: ChannelLike | null = null;
  let ownChannel = false;
  const inBrowser = typeof g.window !== 'undefined' && typeof g.BroadcastChannel === 'function';
  const wanted = opts.channel === undefined ? (inBrowser ? CHANNEL : false) : opts.channel;
  if (typeof wanted === 'string' && typeof g.BroadcastChannel === 'function') {
    channel = new g.BroadcastChannel(wanted);
    ownChannel = true;
    (channel as { unref?: () => void }).unref?.(); // Node: never keep the process alive
  } else if (wanted && typeof wanted === 'object') {
    channel = wanted;
  }
  function post(type: SyncMessage['type'], sessionId: string | null) {
    if (!channel || destroyed) return;
    const m: SyncMessage = { source: 'edge-session', v: 1, type, sessionId };
    try {
      channel.postMessage(m);
    } catch {
      // A closed channel: nothing to tell.
    }
  }
  const onMessage = (event: { data: unknown }) => {
    const m = event.data;
    if (destroyed || !isSyncMessage(m)) return;
    const mine = state.session?.id ?? null;
    if (m.type === 'signed-out' && (m.sessionId === null || m.sessionId === mine)) {
      signedOut(null);
    } else {
      // Another session, or a change: ask the API. Not rate-limited.
      generation++;
      void refetch();
    }
  };
  channel?.addEventListener('message', onMessage);

  // Refetch when the page comes back, at most once per `interval`.
  const focusTarget = opts.focusTarget === undefined ? (g.window ?? null) : (opts.focusTarget || null);
  const onFocus = (event: Event) => {
    if (destroyed) return;
    if (event.type === 'visibilitychange' && g.document?.visibilityState !== 'visible') return;
    if (now() - lastFetchAt < interval) return;
    void refetch();
  };
  focusTarget?.addEventListener('focus', onFocus);
  focusTarget?.addEventListener('visibilitychange', onFocus);

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      if (state.status === 'idle' && !destroyed) void refetch();
      return () => {
        listeners.delete(listener);
      };
    },
    refetch,
    async signOut() {
      const id = state.session?.id ?? null;
      try {
        await client.signOut();
      } catch (e) {
        // Already signed out (401) is what was asked for: clear and tell the others.
        if (!(e instanceof SessionApiError && e.isUnauthenticated)) throw e;
      }
      signedOut(null);
      post('signed-out', id);
    },
    async updateSession(patch) {
      const session = await client.updateSession(patch).catch(failed);
      generation++;
      set({ status: 'signed-in', session, error: null });
      post('changed', session.id);
      return session;
    },
    async refresh() {
      const session = await client.refresh().catch(failed);
      generation++;
      set({ status: 'signed-in', session, error: null });
      post('changed', session.id);
      return session;
    },
    listSessions: () => client.listSessions().catch(failed),
    async revokeSession(id) {
      await client.revokeSession(id).catch(failed);
      if (state.session?.id === id) {
        signedOut(null);
        post('signed-out', id);
      } else {
        post('changed', state.session?.id ?? null);
      }
    },
    async revokeOtherSessions() {
      const n = await client.revokeOtherSessions().catch(failed);
      post('changed', state.session?.id ?? null);
      return n;
    },
    async revokeAllSessions() {
      const id = state.session?.id ?? null;
      const n = await client.revokeAllSessions().catch(failed);
      signedOut(null);
      post('signed-out', id);
      return n;
    },
    announce() {
      post('changed', state.session?.id ?? null);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      listeners.clear();
      channel?.removeEventListener('message', onMessage);
      if (ownChannel) channel?.close?.();
      focusTarget?.removeEventListener('focus', onFocus);
      focusTarget?.removeEventListener('visibilitychange', onFocus);
    },
  };
}
