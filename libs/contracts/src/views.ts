import { z } from 'zod';
import {
  CiInfo,
  Counts,
  Environment,
  IsoTime,
  Labels,
  NodeId,
  Outcome,
  Phase,
  Seconds,
  SessionId,
  ShortText,
  Summary,
} from './fields.js';

export const FailureEntry = z.object({
  nodeid: NodeId,
  when: Phase,
  outcome: Outcome,
  error: z.string().nullable().describe('Error or longrepr, cut to 4 KiB (head and tail kept).'),
  duration: Seconds,
  attempt: z.int().positive(),
});
export type FailureEntry = z.infer<typeof FailureEntry>;

export const SlowEntry = z.object({
  nodeid: NodeId,
  when: Phase,
  outcome: Outcome,
  duration: Seconds,
});
export type SlowEntry = z.infer<typeof SlowEntry>;

export const SummaryMismatch = z.object({
  field: z.string(),
  reported: z.number(),
  recorded: z.number(),
});

export const SessionView = z.object({
  session_id: SessionId,
  status: z.enum(['running', 'finished']),
  environment: Environment,
  project: ShortText.nullable(),
  labels: Labels,
  ci: CiInfo.nullable(),
  started_at: IsoTime,
  finished_at: IsoTime.nullable(),
  duration: Seconds.nullable().describe('Seconds from start to finish, as recorded by the gateway.'),
  tests_duration: Seconds.describe('Sum of the durations of all recorded results (every phase and attempt).'),
  counts: Counts,
  reruns: z.int().nonnegative().describe('Results that replaced an earlier attempt of the same test phase.'),
  failures: z.array(FailureEntry).describe('Failed and errored results, in the order recorded.'),
  failures_omitted: z.int().nonnegative().describe('Failures beyond the listed ones.'),
  slowest: z.array(SlowEntry).describe('Slowest results, slowest first.'),
  summary: Summary.nullable().describe("The summary pytest reported at finish (null while running)."),
  summary_matches: z.boolean().nullable().describe('Whether the reported summary agrees with the recorded counts.'),
  summary_mismatches: z.array(SummaryMismatch),
  exitstatus: z.int().nullable(),
  last_seq: z.int().nonnegative().describe('Stream sequence of the last event folded into this view.'),
  version: z.int().nonnegative().describe("Number of the session's events folded into this view."),
  updated_at: IsoTime,
});
export type SessionView = z.infer<typeof SessionView>;

/** Published on `pytest.changes.session.<id>` after each update of a session view. */
export const SessionChangeNotice = z.object({
  session_id: SessionId,
  status: z.enum(['running', 'finished']),
  last_seq: z.int().nonnegative(),
  version: z.int().nonnegative(),
  counts: Counts,
});
export type SessionChangeNotice = z.infer<typeof SessionChangeNotice>;

/** Request of the `get-session` message pattern. */
export const GetSessionRequest = z.strictObject({
  session_id: SessionId,
  min_seq: z
    .int()
    .nonnegative()
    .optional()
    .describe('Wait (briefly) until the view holds this stream sequence: read-your-writes for a writer.'),
});
export type GetSessionRequest = z.infer<typeof GetSessionRequest>;

/** Error codes the query app answers with (`{ code, message }`). */
export const QUERY_ERRORS = {
  notFound: 'SESSION_NOT_FOUND',
  badRequest: 'BAD_REQUEST',
  behind: 'READ_MODEL_BEHIND',
} as const;
