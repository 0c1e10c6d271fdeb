import type {
  GetFailureGroupsOutput,
  GetFailureGroupsRequest,
  GetFlakyTestsOutput,
  GetFlakyTestsRequest,
  GetSessionTestsOutput,
  GetSessionTestsRequest,
  GetTestHistoryOutput,
  GetTestHistoryRequest,
  ListSessionsOutput,
  ListSessionsRequest,
  SessionRef,
  SessionView,
  TestResult,
} from '#contracts';

/** One result as an event recorded it: where it sits in the stream, and when the gateway took it. */
export interface ProjectedResult {
  /** Stream sequence of the event holding it, and its index in that event: its identity, so a replay inserts nothing twice. */
  seq: number;
  index: number;
  at: string;
  result: TestResult;
}

/**
 * What one pulled batch of events changed in one session: its view after the batch, the stream
 * sequence of its SessionStarted event when the batch holds it (its place in lists, newest first),
 * and the results its events recorded, in stream order.
 */
export interface ProjectedSession {
  ref: SessionRef;
  view: SessionView;
  startSeq?: number;
  results: ProjectedResult[];
}

/**
 * The cross-session read models (sessions index, every result, per-test runs with failure
 * signatures) in a SQL database. One writer (the projector) applies each pulled batch of events in
 * one transaction, idempotent by stream sequence: a session's entry changes only for a view with a
 * later `last_seq`, and a result already stored (same seq and index) is not stored or counted again.
 * Readers (the query apps) answer the cross-session questions. `owner: null` in a request means
 * every owner's sessions: the caller has decided that its asker may read them all.
 */
export interface ReadModelStore {
  /** Where it is, for logs (a file path, or the PostgreSQL URL without its password). */
  readonly location: string;
  /** Brings the schema to the latest version (versioned migrations, each applied once). */
  migrate(): Promise<void>;
  /** Applies one pulled batch in one transaction. */
  apply(batch: ProjectedSession[]): Promise<void>;
  /** Highest stream sequence applied (0: nothing yet) — an empty store beside a consumer that has folded events needs a rebuild. */
  appliedSeq(): Promise<number>;
  /** Drops every read model (for a rebuild) and migrates afresh. */
  reset(): Promise<void>;
  listSessions(request: ListSessionsRequest): Promise<ListSessionsOutput>;
  /** Null when the owner has no such session. */
  sessionTests(request: GetSessionTestsRequest): Promise<GetSessionTestsOutput | null>;
  testHistory(request: GetTestHistoryRequest): Promise<GetTestHistoryOutput>;
  flakyTests(request: GetFlakyTestsRequest): Promise<GetFlakyTestsOutput>;
  /** Null when a session_id is given and the owner has no such session. */
  failureGroups(request: GetFailureGroupsRequest): Promise<GetFailureGroupsOutput | null>;
  close(): Promise<void>;
}

/** A cursor from a caller that this store never gave out (or gave for another list). */
export class BadCursor extends Error {
  constructor() {
    super('cursor: not a next_cursor of this list (pass the next_cursor of the previous answer, unchanged)');
  }
}

/** Nest injection token of the {@link ReadModelStore} an app opened. */
export const READ_MODEL_STORE = Symbol('ReadModelStore');
