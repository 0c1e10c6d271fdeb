import { z } from 'zod';
import { jsonBoundsViolation, type JsonBounds } from './bounded-json.js';
import { describeAt, describeIssues } from './issues.js';
import { LIMITS } from './limits.js';
import { CiInfo, Environment, Labels, Location, LongText, NodeId, Outcome, Phase, Seconds, SessionId, ShortText, Summary } from './fields.js';
import { GrantName } from './identity.js';
import {
  GetFailureGroupsInput,
  GetFailureGroupsOutput,
  GetFlakyTestsInput,
  GetFlakyTestsOutput,
  GetSessionTestsInput,
  GetSessionTestsOutput,
  GetTestHistoryInput,
  GetTestHistoryOutput,
  ListSessionsInput,
  ListSessionsOutput,
} from './reads.js';
import { SessionView } from './views.js';

const OptionalSessionId = SessionId.optional().describe('Session to write to. Default: the session last started on this MCP connection.');

const WriteAck = {
  session_id: SessionId,
  seq: z.int().positive().describe('JetStream stream sequence of the event that holds this write.'),
  duplicate: z.boolean().describe('True when this exact write was already recorded; nothing new was written.'),
};

export const RecordSessionStartInput = z.strictObject({
  environment: Environment,
  session_id: SessionId.optional().describe('Client-chosen id, so that a retried start is recognised. Default: a new UUID.'),
  project: ShortText.optional().describe('Project or repository name.'),
  labels: Labels.optional(),
  ci: CiInfo.optional(),
});
export type RecordSessionStartInput = z.infer<typeof RecordSessionStartInput>;

export const RecordSessionStartOutput = z.object(WriteAck);
export type RecordSessionStartOutput = z.infer<typeof RecordSessionStartOutput>;

const outcomeFields = {
  nodeid: NodeId,
  outcome: Outcome,
  duration: Seconds.describe('Duration of this phase in seconds.'),
  error: LongText.nullish().describe('Error message or traceback of a failure. Stored up to 32 KiB.'),
  session_id: OptionalSessionId,
  when: Phase.optional(),
  attempt: z
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be 1 or more' })
    .max(1000, { error: 'must be at most 1000' })
    .optional()
    .describe('Run of this test in the session: 2 and up for reruns (default 1). A rerun replaces the earlier result in the counts.'),
  longrepr: LongText.nullish().describe("pytest's full failure representation. Stored up to 32 KiB."),
  location: Location.optional(),
};

export const RecordTestOutcomeInput = z.strictObject(outcomeFields);
export type RecordTestOutcomeInput = z.infer<typeof RecordTestOutcomeInput>;

export const RecordTestOutcomeOutput = z.object({
  ...WriteAck,
  nodeid: NodeId,
});
export type RecordTestOutcomeOutput = z.infer<typeof RecordTestOutcomeOutput>;

/** One item of record_test_outcomes: record_test_outcome's arguments, the session given once for the batch. */
export const OutcomeItem = RecordTestOutcomeInput.omit({ session_id: true });
export type OutcomeItem = z.infer<typeof OutcomeItem>;

export const RecordTestOutcomesInput = z.strictObject({
  session_id: OptionalSessionId,
  outcomes: z
    .array(OutcomeItem)
    .min(1, { error: 'must hold at least one outcome' })
    .max(LIMITS.batchOutcomes, { error: `must hold at most ${LIMITS.batchOutcomes} outcomes; send more in further calls` })
    .describe(`Test results, each as record_test_outcome takes them (without session_id); 1 to ${LIMITS.batchOutcomes}.`),
});
export type RecordTestOutcomesInput = z.infer<typeof RecordTestOutcomesInput>;

export const RecordTestOutcomesOutput = z.object({
  ...WriteAck,
  seq: WriteAck.seq.describe('JetStream stream sequence of the last event holding any of these outcomes.'),
  duplicate: WriteAck.duplicate.describe('True when every outcome was already recorded; nothing new was written.'),
  recorded: z.int().nonnegative().describe('Outcomes newly stored by this call.'),
  duplicates: z.int().nonnegative().describe('Outcomes that were already recorded (by an earlier call, or earlier in this one).'),
});
export type RecordTestOutcomesOutput = z.infer<typeof RecordTestOutcomesOutput>;

export const RecordSessionFinishInput = z.strictObject({
  summary: Summary,
  session_id: OptionalSessionId,
});
export type RecordSessionFinishInput = z.infer<typeof RecordSessionFinishInput>;

export const RecordSessionFinishOutput = z.object({
  ...WriteAck,
  status: z.literal('finished'),
});
export type RecordSessionFinishOutput = z.infer<typeof RecordSessionFinishOutput>;

export const GetSessionInput = z.strictObject({
  session_id: SessionId.optional().describe('Session to read. Default: the session last started on this MCP connection.'),
  owner: GrantName.optional().describe(
    'Grant that owns the session (see the view\'s `owner`). Default: your own grant; another grant\'s sessions can be read only where the policy grants `sessions.read: "all"`.',
  ),
});
export type GetSessionInput = z.infer<typeof GetSessionInput>;

export const GetSessionOutput = SessionView;

/**
 * Risk class of a tool, shown to clients as MCP annotations: a read changes nothing; none of the
 * writes destroys data (they append), and a write is idempotent when a retry changes nothing.
 */
function annotations(risk: 'read' | 'write', idempotent: boolean) {
  return { readOnlyHint: risk === 'read', destructiveHint: false, idempotentHint: idempotent, openWorldHint: false } as const;
}

/** Name, description, schemas and hints of each MCP tool; the gateway registers exactly these. */
export const TOOLS = {
  record_session_start: {
    title: 'Record pytest session start',
    description:
      'Start recording a pytest session. Pass the environment (os, python_version, any extra keys). ' +
      'Returns the session_id that later calls use; pass your own session_id to make a retried start safe.',
    input: RecordSessionStartInput,
    output: RecordSessionStartOutput,
    // Idempotent only with a session_id: without one, every call starts a new session.
    annotations: annotations('write', false),
  },
  record_test_outcome: {
    title: 'Record a test outcome',
    description:
      'Record one test result (nodeid, outcome, duration in seconds, optional error) in a running session. ' +
      'A retried identical call is recognised and not counted twice.',
    input: RecordTestOutcomeInput,
    output: RecordTestOutcomeOutput,
    annotations: annotations('write', true),
  },
  record_test_outcomes: {
    title: 'Record many test outcomes',
    description:
      `Record up to ${LIMITS.batchOutcomes} test results in one call, all or nothing: one invalid or conflicting item refuses ` +
      'the call (naming its index) and nothing is written. Outcomes already recorded are recognised and not counted twice, ' +
      'so a resent or overlapping batch is safe.',
    input: RecordTestOutcomesInput,
    output: RecordTestOutcomesOutput,
    annotations: annotations('write', true),
  },
  record_session_finish: {
    title: 'Record pytest session finish',
    description:
      "Finish a session with pytest's summary (total_tests, passed, failed, skipped, exitstatus). " + 'Nothing can be recorded in the session afterwards.',
    input: RecordSessionFinishInput,
    output: RecordSessionFinishOutput,
    annotations: annotations('write', true),
  },
  get_session: {
    title: 'Get a pytest session',
    description:
      'Read a session: status, environment, counts per outcome, failures with their errors, slowest tests, ' +
      'durations, and the reported summary beside the recorded counts.',
    input: GetSessionInput,
    output: GetSessionOutput,
    annotations: annotations('read', true),
  },
  list_sessions: {
    title: 'List pytest sessions',
    description:
      'List recent sessions, newest first, with status, counts, times, CI and labels; filter by project, status, branch, ' +
      'label ("key=value") and start time. Page on with next_cursor.',
    input: ListSessionsInput,
    output: ListSessionsOutput,
    annotations: annotations('read', true),
  },
  get_session_tests: {
    title: "List a session's test results",
    description: 'Every recorded result of a session (each phase and attempt) in the order recorded, optionally of one outcome. Page on with next_cursor.',
    input: GetSessionTestsInput,
    output: GetSessionTestsOutput,
    annotations: annotations('read', true),
  },
  get_test_history: {
    title: "A test's history",
    description: "One test's outcome, duration and attempt in the project's recent sessions, newest first, with each session's branch.",
    input: GetTestHistoryInput,
    output: GetTestHistoryOutput,
    annotations: annotations('read', true),
  },
  get_flaky_tests: {
    title: 'Flaky and slow tests',
    description:
      "Tests that flip between passed and failed over the project's last finished sessions (or pass only on a rerun), " +
      'highest flip rate first; and the slowest tests of that window with their duration trend.',
    input: GetFlakyTestsInput,
    output: GetFlakyTestsOutput,
    annotations: annotations('read', true),
  },
  get_failure_groups: {
    title: 'Failures grouped by cause',
    description:
      "Failures of a session, or of a project's recent sessions, grouped by error signature (exception type, message with " +
      'numbers, paths and ids masked, and innermost frame): largest group first, with example tests.',
    input: GetFailureGroupsInput,
    output: GetFailureGroupsOutput,
    annotations: annotations('read', true),
  },
} as const;
export type ToolName = keyof typeof TOOLS;

/** Whether a caller's tool name is one of this server's tools (own keys only: never `constructor` and the like). */
export const isToolName = (name: string): name is ToolName => Object.hasOwn(TOOLS, name);

/** How the gateway introduces itself to MCP clients. */
export const SERVER_INFO = {
  name: 'mcp-pytest',
  version: '0.1.0',
  instructions:
    'Records pytest sessions. Call record_session_start once per pytest run (it returns the session_id), ' +
    'record_test_outcome for each test result, and record_session_finish with the summary at the end; ' +
    'read a session back with get_session. session_id may be left out after a start on the same connection.',
} as const;

/** The nesting and entries any tool call's raw arguments are held to, before a schema walks them. */
export const ARGUMENT_BOUNDS: JsonBounds = { depth: LIMITS.argumentDepth, entries: LIMITS.argumentEntries };

/**
 * What is wrong with a tool's raw arguments, naming each field and rule, or undefined when they
 * are valid. Before the schema (whose objects are rebuilt by assignment, where a `__proto__` key
 * would vanish silently), the raw value is checked for `__proto__` keys, and for nesting and size
 * far beyond what any argument allows (so the schema's own checks never face unbounded input).
 */
export function toolArgumentsProblems(name: ToolName, args: unknown): string | undefined {
  const raw = jsonBoundsViolation(args ?? {}, ARGUMENT_BOUNDS);
  if (raw) return describeAt(raw.path, raw.message);
  const parsed = TOOLS[name].input.safeParse(args ?? {});
  return parsed.success ? undefined : describeIssues(parsed.error);
}
