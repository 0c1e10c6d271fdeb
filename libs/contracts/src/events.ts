import { z } from 'zod';
import { AUDIT_BOUNDS } from './audit.js';
import { CiInfo, StoredEnvironment, IsoTime, Labels, Location, NodeId, Outcome, Phase, Seconds, SessionId, ShortText, Summary } from './fields.js';

/** Who caused an event: the calling agent, its grant, and how it reached the gateway. */
export const Actor = z.object({
  agent: z.string(),
  grant: z.string().optional().describe('Grant of the agent (absent in events written before policies existed).'),
  via: z.string().describe('"http", "stdio", …'),
  client: z.string().max(AUDIT_BOUNDS.clientChars).optional().describe('MCP client name/version from its initialize request (cut).'),
});
export type Actor = z.infer<typeof Actor>;

/**
 * Fields every event carries. `version` counts the session's events (1, 2, …) with no gaps, so a
 * reader can tell a missing or repeated event from the envelope alone.
 */
const envelope = {
  v: z.literal(1),
  id: z.string(),
  sessionId: SessionId,
  version: z.int().positive(),
  at: IsoTime,
  actor: Actor,
};

export const SessionStartedData = z.object({
  environment: StoredEnvironment,
  project: ShortText.optional(),
  labels: Labels.optional(),
  ci: CiInfo.optional(),
});
export type SessionStartedData = z.infer<typeof SessionStartedData>;

/** One recorded test phase, as stored: free text already clipped to LIMITS.errorBytes. */
export const TestResult = z.object({
  nodeid: NodeId,
  when: Phase,
  attempt: z.int().positive(),
  outcome: Outcome,
  duration: Seconds,
  error: z.string().optional(),
  longrepr: z.string().optional(),
  location: Location.optional(),
  /** Digest of `error` and `longrepr` as sent, when either was clipped: a retry is compared on the whole text. */
  sent_digest: z.string().optional(),
  /** Outcome of the earlier attempt of this nodeid and phase that this one replaces in the counts. */
  replaces: Outcome.optional(),
  /** A later attempt of this nodeid and phase was recorded first: this one is kept but not counted. */
  superseded: z.literal(true).optional(),
});
export type TestResult = z.infer<typeof TestResult>;

export const SessionStarted = z.object({ type: z.literal('SessionStarted'), ...envelope, data: SessionStartedData });
export type SessionStarted = z.infer<typeof SessionStarted>;

/** One or more results: calls that queued up while a write was in flight are committed together. */
export const TestOutcomesRecorded = z.object({
  type: z.literal('TestOutcomesRecorded'),
  ...envelope,
  data: z.object({ results: z.array(TestResult).min(1) }),
});
export type TestOutcomesRecorded = z.infer<typeof TestOutcomesRecorded>;

export const SessionFinished = z.object({
  type: z.literal('SessionFinished'),
  ...envelope,
  data: z.object({ summary: Summary }),
});
export type SessionFinished = z.infer<typeof SessionFinished>;

/**
 * Every event that can be in the stream. A changed shape gets `v: 2` in a new member and an
 * upcaster in {@link parseEvent}, so events written before stay readable.
 */
export const PytestEvent = z.discriminatedUnion('type', [SessionStarted, TestOutcomesRecorded, SessionFinished]);
export type PytestEvent = z.infer<typeof PytestEvent>;

/** Validates a decoded message as the current version of its event. */
export function parseEvent(json: unknown): PytestEvent {
  return PytestEvent.parse(json);
}
