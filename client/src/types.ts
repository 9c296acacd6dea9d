import type { components, operations } from './schema.js';

type Schemas = components['schemas'];

/** A session (contract §3). */
export type Session = Schemas['Session'];
/** A listing entry: every field of a session but `meta`; `current` in self-service listings. */
export type SessionSummary = Schemas['Summary'];
/** The body of `POST {prefix}/admin/sessions`. */
export type NewSession = Schemas['NewSession'];
/** What the holder of a session may change (JSON merge patch): the label only. */
export type HolderPatch = Schemas['HolderPatch'];
/** What the admin API may change (JSON merge patch): label and meta. */
export type SessionPatch = Schemas['SessionPatch'];

type Json<R> = R extends { content: { 'application/json': infer B } } ? B : never;

/** `201` of the admin create: the token (shown once) and the session. */
export type CreatedSession = Json<operations['adminCreateSession']['responses'][201]>;
/** One page of the admin listing; `cursor` is null on the last page. */
export type SessionPage = Json<operations['adminListSessions']['responses'][200]>;
/** The query of the admin listing. */
export type ListQuery = NonNullable<operations['adminListSessions']['parameters']['query']>;
