export { SessionClient, type SessionClientOptions } from './client.js';
export { AdminClient, type AdminClientOptions, type ListAllOptions } from './admin.js';
export {
  SessionApiError, isSessionApiError, PROBLEM_CODES,
  type Problem, type ProblemCode, type ClientErrorCode, type SessionApiErrorCode,
} from './errors.js';
export { Transport, type FetchLike, type TransportOptions, type CallOptions } from './http.js';
export {
  createSessionStore, type SessionStore, type SessionStoreOptions, type SessionState,
  type SessionStatus, type SessionListener, type ChannelLike, type StoreClient, type SyncMessage,
} from './store.js';
export type {
  Session, SessionSummary, NewSession, HolderPatch, SessionPatch, CreatedSession, SessionPage, ListQuery,
} from './types.js';
export type { paths, components, operations } from './schema.js';
