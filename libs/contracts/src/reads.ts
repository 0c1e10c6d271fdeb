import { z } from 'zod';
import { CiInfo, Counts, IsoTime, Labels, NodeId, Outcome, Phase, Seconds, SessionId, ShortText } from './fields.js';
import { GrantName } from './identity.js';

/**
 * The reads across sessions (lists, test history, flakiness, failure groups): one schema per
 * question, shared by the MCP tools, the NATS message patterns and the HTTP API, so all three take
 * the same parameter names and answer the same JSON.
 */

export const READ_BOUNDS = {
  sessionsPage: { default: 20, max: 100 },
  testsPage: { default: 100, max: 1000 },
  historyRuns: { default: 30, max: 200 },
  flakyWindow: { default: 30, max: 200 },
  groupsWindow: { default: 30, max: 200 },
  /** Tests listed by get_flaky_tests (flaky, and slowest), and failure groups listed, at most. */
  listed: 50,
  /** Example node ids per failure group. */
  groupExamples: 5,
  /** Characters of a failure signature, at most. */
  signatureChars: 500,
} as const;

const Owner = GrantName.optional().describe(
  'Grant whose sessions to read. Default: your own grant — or every grant, where the policy grants `sessions.read: "all"`.',
);

/** An opaque position in a list, from a previous page's `next_cursor`. */
export const Cursor = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, { error: 'must be a next_cursor from a previous answer' })
  .describe("Where to go on: a previous answer's next_cursor.");

/** How many of something to return: an integer within bounds (query strings arrive as text). */
const limit = ({ default: fallback, max }: { default: number; max: number }, what: string) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(max, { error: `must be at most ${max}` })
    .default(fallback)
    .describe(`${what} (default ${fallback}, at most ${max}).`);

const Label = z
  .string()
  .max(1024)
  .regex(/^[^=]+=.*$/s, { error: 'must be "key=value"' })
  .describe('Only sessions with this label, as "key=value".');

export const SESSION_STATUSES = ['running', 'finished'] as const;

export const ListSessionsInput = z.strictObject({
  project: ShortText.optional().describe('Only sessions of this project.'),
  status: z.enum(SESSION_STATUSES).optional().describe('Only running or only finished sessions.'),
  branch: z.string().max(512).optional().describe('Only sessions whose CI branch is this.'),
  label: Label.optional(),
  since: IsoTime.optional().describe('Only sessions started at or after this time (ISO 8601).'),
  until: IsoTime.optional().describe('Only sessions started before this time (ISO 8601).'),
  owner: Owner,
  limit: limit(READ_BOUNDS.sessionsPage, 'Sessions per page'),
  cursor: Cursor.optional(),
});
export type ListSessionsInput = z.output<typeof ListSessionsInput>;

export const SessionListItem = z.object({
  session_id: SessionId,
  owner: GrantName,
  project: ShortText.nullable(),
  status: z.enum(SESSION_STATUSES),
  stuck: z.boolean().describe('The projector could not fold one of its events (see get_session).'),
  counts: Counts,
  started_at: IsoTime,
  finished_at: IsoTime.nullable(),
  duration: Seconds.nullable(),
  ci: CiInfo.nullable(),
  labels: Labels,
  exitstatus: z.int().nullable(),
  last_seq: z.int().nonnegative().describe('Stream sequence of the last event folded into this entry.'),
});
export type SessionListItem = z.infer<typeof SessionListItem>;

const nextCursor = z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.');

export const ListSessionsOutput = z.object({
  sessions: z.array(SessionListItem).describe('Newest first (by the order the sessions were started in).'),
  next_cursor: nextCursor,
});
export type ListSessionsOutput = z.infer<typeof ListSessionsOutput>;

export const GetSessionTestsInput = z.strictObject({
  session_id: SessionId.optional().describe('Session to read. Default: the session last started on this MCP connection.'),
  owner: GrantName.optional().describe('Grant that owns the session. Default: your own grant.'),
  outcome: Outcome.optional().describe('Only results with this outcome.'),
  limit: limit(READ_BOUNDS.testsPage, 'Results per page'),
  cursor: Cursor.optional(),
});
export type GetSessionTestsInput = z.output<typeof GetSessionTestsInput>;

export const SessionTest = z.object({
  nodeid: NodeId,
  when: Phase,
  outcome: Outcome,
  duration: Seconds,
  attempt: z.int().positive(),
  error: z.string().nullable().describe('Error message, else the traceback (as stored: up to 32 KiB).'),
});
export type SessionTest = z.infer<typeof SessionTest>;

export const GetSessionTestsOutput = z.object({
  session_id: SessionId,
  owner: GrantName,
  tests: z.array(SessionTest).describe('Every recorded result (each phase and attempt), in the order recorded.'),
  next_cursor: nextCursor,
});
export type GetSessionTestsOutput = z.infer<typeof GetSessionTestsOutput>;

export const GetTestHistoryInput = z.strictObject({
  project: ShortText.describe('Project the sessions were recorded under.'),
  nodeid: NodeId,
  owner: Owner,
  limit: limit(READ_BOUNDS.historyRuns, 'Sessions'),
});
export type GetTestHistoryInput = z.output<typeof GetTestHistoryInput>;

export const TestRun = z.object({
  session_id: SessionId,
  owner: GrantName,
  outcome: Outcome.describe("The test's outcome in that session: its last attempt, the worst of its phases."),
  duration: Seconds.describe('Seconds of all phases of that attempt.'),
  attempt: z.int().positive(),
  rerun_passed: z.boolean().describe('Passed after a failed earlier attempt in the same session.'),
  started_at: IsoTime,
  branch: z.string().nullable(),
  error: z.string().nullable(),
});
export type TestRun = z.infer<typeof TestRun>;

export const GetTestHistoryOutput = z.object({
  nodeid: NodeId,
  runs: z.array(TestRun).describe('Newest first.'),
});
export type GetTestHistoryOutput = z.infer<typeof GetTestHistoryOutput>;

export const GetFlakyTestsInput = z.strictObject({
  project: ShortText,
  window: limit(READ_BOUNDS.flakyWindow, "The project's last finished sessions to look at"),
  branch: z.string().max(512).optional().describe('Only sessions of this CI branch.'),
  owner: Owner,
});
export type GetFlakyTestsInput = z.output<typeof GetFlakyTestsInput>;

export const FlakyTest = z.object({
  nodeid: NodeId,
  runs: z.int().nonnegative().describe('Sessions of the window in which it passed or failed.'),
  flips: z
    .int()
    .nonnegative()
    .describe('Changes between passed and failed/error from one session to the next, plus passes after a failed attempt in one session.'),
  flip_rate: z.number().min(0).max(1).describe('flips / (runs − 1 + sessions in which it was rerun).'),
  rerun_passes: z.int().nonnegative(),
  last_flip_at: IsoTime.nullable().describe('Start of the session of its last flip.'),
});
export type FlakyTest = z.infer<typeof FlakyTest>;

export const SlowTest = z.object({
  nodeid: NodeId,
  runs: z.int().positive(),
  mean_duration: Seconds,
  last_duration: Seconds,
  trend: z.number().describe('Mean duration of the newer half of its runs over the older half (1: steady; 2: twice as slow).'),
  durations: z.array(Seconds).describe('Its duration per session, oldest first.'),
});
export type SlowTest = z.infer<typeof SlowTest>;

export const GetFlakyTestsOutput = z.object({
  project: ShortText,
  sessions: z.int().nonnegative().describe('Finished sessions looked at.'),
  tests: z.array(FlakyTest).describe(`Flaky tests (passed on a rerun, or flipped at least twice), highest flip rate first (at most ${READ_BOUNDS.listed}).`),
  slowest: z.array(SlowTest).describe(`Slowest tests of the window by mean duration (at most ${READ_BOUNDS.listed}).`),
});
export type GetFlakyTestsOutput = z.infer<typeof GetFlakyTestsOutput>;

/** Failure groups cover one session or one project's window: exactly one of the two. */
const oneScope: [(input: { session_id?: string; project?: string }) => boolean, { error: string; path: string[] }] = [
  (input) => (input.session_id === undefined) !== (input.project === undefined),
  { error: 'give either session_id or project (one of them)', path: ['session_id'] },
];

export const GetFailureGroupsInput = z
  .strictObject({
    session_id: SessionId.optional().describe('Group the failures of this session…'),
    project: ShortText.optional().describe("…or of the project's last `window` sessions."),
    owner: Owner,
    window: limit(READ_BOUNDS.groupsWindow, 'Sessions of the project'),
  })
  .refine(...oneScope);
export type GetFailureGroupsInput = z.output<typeof GetFailureGroupsInput>;

export const FailureGroup = z.object({
  signature: z
    .string()
    .max(READ_BOUNDS.signatureChars)
    .describe('Exception type and message with numbers, paths, addresses, hex and ids masked, and the innermost frame.'),
  count: z.int().positive(),
  nodeids: z.array(NodeId).describe(`Examples (at most ${READ_BOUNDS.groupExamples}).`),
  example_error: z.string().nullable().describe('The error of one of them, as stored (cut to 4 KiB).'),
  first_seen: IsoTime,
  last_seen: IsoTime,
});
export type FailureGroup = z.infer<typeof FailureGroup>;

export const GetFailureGroupsOutput = z.object({
  groups: z.array(FailureGroup).describe(`Largest first (at most ${READ_BOUNDS.listed}).`),
});
export type GetFailureGroupsOutput = z.infer<typeof GetFailureGroupsOutput>;

/**
 * Query parameters of the HTTP API's `/api/events` (Server-Sent Events of session change notices):
 * which sessions' changes to follow, and where to resume (the `Last-Event-ID` header wins over it).
 */
export const ChangeFeedInput = z.strictObject({
  project: ShortText.optional().describe('Only changes of sessions of this project.'),
  session_id: SessionId.optional().describe('Only changes of this session.'),
  owner: Owner,
  last_event_id: z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .nonnegative({ error: 'must not be negative' })
    .optional()
    .describe('Resume right after this event id (for clients that cannot send the Last-Event-ID header).'),
});
export type ChangeFeedInput = z.output<typeof ChangeFeedInput>;

/** Arguments of the `triage_session` MCP prompt (prompt arguments are strings). */
export const TriageSessionArgs = {
  session_id: SessionId.describe('Session whose failures to triage.'),
};

/**
 * Whose sessions a NATS read covers, as the asker decided it from its caller's grant and the
 * policy: one owner, or (null) every owner — only for a caller whose policy grants reading all.
 */
const ReadOwner = GrantName.nullable();

/** NATS requests of the read patterns: the tool's arguments with the owner(s) resolved by the asker. */
export const ListSessionsRequest = ListSessionsInput.extend({ owner: ReadOwner });
export type ListSessionsRequest = z.output<typeof ListSessionsRequest>;
const MinSeq = z
  .int()
  .nonnegative()
  .optional()
  .describe('Wait (briefly) until the read models hold this stream sequence of the session: read-your-writes for a writer.');
export const GetSessionTestsRequest = GetSessionTestsInput.extend({ session_id: SessionId, owner: GrantName, min_seq: MinSeq });
export type GetSessionTestsRequest = z.output<typeof GetSessionTestsRequest>;
export const GetTestHistoryRequest = GetTestHistoryInput.extend({ owner: ReadOwner });
export type GetTestHistoryRequest = z.output<typeof GetTestHistoryRequest>;
export const GetFlakyTestsRequest = GetFlakyTestsInput.extend({ owner: ReadOwner });
export type GetFlakyTestsRequest = z.output<typeof GetFlakyTestsRequest>;
export const GetFailureGroupsRequest = z
  .strictObject({
    session_id: SessionId.optional(),
    project: ShortText.optional(),
    owner: ReadOwner,
    window: limit(READ_BOUNDS.groupsWindow, 'Sessions of the project'),
    min_seq: MinSeq,
  })
  .refine(...oneScope);
export type GetFailureGroupsRequest = z.output<typeof GetFailureGroupsRequest>;

/** Outcomes that count as a test failing, for flips and failure groups. */
export const FAILING_OUTCOMES: readonly Outcome[] = ['failed', 'error'];
export const isFailing = (outcome: Outcome): boolean => FAILING_OUTCOMES.includes(outcome);

/** Worst first is highest: how a test's phases combine into one outcome for the test. */
export const OUTCOME_SEVERITY: Record<Outcome, number> = { passed: 0, skipped: 1, xfailed: 2, xpassed: 3, failed: 4, error: 5 };
