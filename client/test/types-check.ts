// Compile-time checks of the public types (run by `npm run typecheck`, never executed).
import {
  AdminClient, SessionApiError, SessionClient, createSessionStore, isSessionApiError,
  type ProblemCode, type SessionApiErrorCode, type Session, type SessionSummary,
} from '../dist/index.js';

declare const client: SessionClient;
declare const admin: AdminClient;

export async function checks() {
  const s: Session = await client.getSession();
  const label: string | null = s.label;
  const meta: Record<string, unknown> = s.meta;
  void label; void meta;

  await client.updateSession({ label: 'laptop' });
  await client.updateSession({ label: null });
  // @ts-expect-error the holder cannot patch meta (the API answers 403 forbidden)
  await client.updateSession({ meta: {} });

  const list: SessionSummary[] = await client.listSessions();
  const current: boolean | undefined = list[0]?.current;
  void current;
  const n: number = await client.revokeOtherSessions();
  void n;

  const { token, session } = await admin.createSession({ userId: 'u', meta: { roles: ['admin'] }, idleTtl: 60 });
  void token; void session;
  // @ts-expect-error userId is required
  await admin.createSession({ label: 'x' });
  await admin.patchSessionById('id', { meta: { roles: null } });
  for await (const summary of admin.listAll({ limit: 10 })) {
    const id: string = summary.id;
    void id;
  }
  for await (const page of admin.listPages({ limit: 10 })) {
    const c: string | null = page.cursor;
    void c;
  }

  try {
    await client.getSession();
  } catch (e) {
    if (isSessionApiError(e, 'session_expired', 'invalid_token')) {
      const code: SessionApiErrorCode = e.code;
      const status: number = e.status;
      const field: string | undefined = e.field;
      void code; void status; void field;
    }
    if (e instanceof SessionApiError && e.code !== 'network_error' && e.code !== 'aborted' && e.code !== 'unexpected_response'
      && e.code !== 'invalid_argument') {
      const p: ProblemCode = e.code;
      void p;
    }
    // @ts-expect-error not a code of the API
    isSessionApiError(e, 'teapot');
  }

  const store = createSessionStore({ client, focusTarget: false, channel: false });
  const off = store.subscribe((state) => {
    if (state.status === 'signed-in') void state.session?.userId;
  });
  off();
}
