import { z } from 'zod';
import { CiInfo, Counts, StoredEnvironment, IsoTime, Labels, NodeId, Outcome, Phase, Seconds, SessionId, ShortText, Summary } from './fields.js';
import { GrantName } from './identity.js';
import { LIMITS } from './limits.js';

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

/** Why the projector stopped folding a session: the event it could not fold, and what went wrong. */
export const StuckMark = z.object({
  seq: z.int().nonnegative().describe('Stream sequence of the event that could not be folded (0: not known).'),
  reason: z.string().max(LIMITS.reasonChars),
  at: IsoTime.describe('When the projector gave up on it.'),
});
export type StuckMark = z.infer<typeof StuckMark>;

export const SessionView = z.object({
  session_id: SessionId,
  owner: GrantName.describe('Grant that started the session and owns it.'),
  status: z.enum(['running', 'finished']),
  environment: StoredEnvironment,
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
  summary: Summary.nullable().describe('The summary pytest reported at finish (null while running).'),
  summary_matches: z.boolean().nullable().describe('Whether the reported summary agrees with the recorded counts.'),
  summary_mismatches: z.array(SummaryMismatch),
  exitstatus: z.int().nullable(),
  last_seq: z.int().nonnegative().describe('Stream sequence of the last event folded into this view.'),
  version: z.int().nonnegative().describe("Number of the session's events folded into this view."),
  updated_at: IsoTime,
  stuck: StuckMark.nullable().describe(
    'Set when an event of the session could not be folded: the view stays as of the event before it until the session is re-folded (`npm run refold`).',
  ),
});
export type SessionView = z.infer<typeof SessionView>;

/** A session whose first event could not be folded: there is no view to show, only why. */
export const StuckSession = z.object({
  session_id: SessionId,
  owner: GrantName,
  stuck: StuckMark,
});
export type StuckSession = z.infer<typeof StuckSession>;

/** What the sessions bucket holds per session. */
export type StoredSession = SessionView | StuckSession;
export const isStuckStub = (stored: StoredSession): stored is StuckSession => !('status' in stored);

/** Published on `pytest.changes.session.<owner>.<id>` after each update of a session view; status "stuck" while it is stuck. */
export const SessionChangeNotice = z.object({
  session_id: SessionId,
  owner: GrantName,
  status: z.enum(['running', 'finished', 'stuck']),
  project: ShortText.nullable().optional().describe('Project of the session (absent in notices of stuck sessions).'),
  last_seq: z.int().nonnegative(),
  version: z.int().nonnegative(),
  counts: Counts.nullable(),
});
export type SessionChangeNotice = z.infer<typeof SessionChangeNotice>;

/** Request of the `get-session` message pattern. */
export const GetSessionRequest = z.strictObject({
  session_id: SessionId,
  owner: GrantName.describe('Grant owning the session. The asker decides who may read what (the gateway asks for its callers).'),
  min_seq: z.int().nonnegative().optional().describe('Wait (briefly) until the view holds this stream sequence: read-your-writes for a writer.'),
});
export type GetSessionRequest = z.infer<typeof GetSessionRequest>;
