import { createHash } from 'node:crypto';
import type { z } from 'zod';
import {
  boundedReason,
  describeAt,
  describeIssues,
  Environment,
  jsonBoundsViolation,
  LIMITS,
  OutcomeItem,
  RecordSessionStartInput,
  type JsonBounds,
  type Summary,
} from '#contracts';
import { clipUtf8 } from '#domain';
import { CliError } from './cli.js';
import type { SessionPlan } from './session-upload.js';

/** What an importer read from a file: one test run, checked against the contracts. */
export interface ImportedRun {
  environment: Environment;
  outcomes: OutcomeItem[];
  /** The run's summary; none where the file ends before the run did. */
  summary: Summary | undefined;
}

/** Where in a file something is: a line, its column where known, the element or record it belongs to. */
export interface Place {
  line: number;
  column?: number;
  what?: string;
}

/**
 * Something in an imported file that cannot be taken, named by file, line (and column) and element or record.
 * What it says of the file is bounded (LIMITS.reasonChars): it may quote the file's names and keys.
 */
export class FileProblem extends CliError {
  constructor(source: string, { line, column, what }: Place, problem: string) {
    super(`${source}: line ${line}${column === undefined ? '' : `, column ${column}`}: ${boundedReason(`${what ? `${what}: ` : ''}${problem}`)}`);
  }
}

/** A record of a file as `schema` reads it, or a FileProblem naming its place and each field and rule it breaks. */
export function checkedRecord<S extends z.ZodType>(schema: S, record: unknown, source: string, place: Place): z.output<S> {
  const parsed = schema.safeParse(record);
  if (!parsed.success) throw new FileProblem(source, place, describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Checks a record's nesting and entries against `bounds`, walking it without recursion, before any schema or
 * JSON.stringify recurses over it (a line of 100,000 nested arrays would exhaust the call stack): a FileProblem
 * names the place and the field (under `at`) where it breaks them.
 */
export function checkBounds(record: unknown, bounds: JsonBounds, source: string, place: Place, at: (string | number)[] = []): void {
  const violation = jsonBoundsViolation(record, bounds);
  if (violation) throw new FileProblem(source, place, describeAt([...at, ...violation.path], violation.message));
}

/** A line of JSON, or a FileProblem naming it. */
export function jsonLine(text: string, source: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FileProblem(source, { line }, `not JSON: ${(error as Error).message}`);
  }
}

/** Environment of a run whose file does not say where it ran: what the contract asks for, plainly unknown. */
export const UNKNOWN_ENVIRONMENT = { os: 'unknown', python_version: 'unknown' } as const;

/** An outcome drafted from a file: the contract's item before it is checked. */
export type OutcomeDraft = { [K in keyof OutcomeItem]: OutcomeItem[K] | undefined };

/**
 * An outcome as record_test_outcomes takes it, or a FileProblem naming where it came from. Its long texts are
 * clipped as the gateway stores them (LIMITS.errorBytes, head and tail), so a huge traceback costs no request
 * size and what is stored is the same; fields without a value are left out.
 */
export function checkedOutcome(draft: OutcomeDraft, source: string, place: Place): OutcomeItem {
  const clip = (text: string | null | undefined) => (typeof text === 'string' ? clipUtf8(text, LIMITS.errorBytes) : text);
  const item = Object.fromEntries(
    Object.entries({ ...draft, error: clip(draft.error), longrepr: clip(draft.longrepr) }).filter(([, value]) => value !== undefined),
  );
  return checkedRecord(OutcomeItem, item, source, place);
}

/** SHA-256, in hex, of what identifies a run. */
export const sha256 = (identity: string): string => createHash('sha256').update(identity).digest('hex');

/** `<prefix>-` and the first 32 hex digits of the SHA-256 of what identifies the run: the same file gives the same session. */
export const derivedSessionId = (prefix: string, sha256Hex: string): string => `${prefix}-${sha256Hex.slice(0, 32)}`;

/** How an imported run becomes a session: its id, and the project the command line named. */
export interface SessionChoice {
  session_id: string;
  project: string | undefined;
  /** Which importer made it: the session's `source` label. */
  source: string;
}

/**
 * The start of an imported run's session, checked against its contract (a bad environment is named before
 * anything is sent). It holds only what the file says and the command line chose, so the same file makes the
 * same start, which the gateway recognises when the file is imported again.
 */
export function sessionStart(environment: Environment, { session_id, project, source }: SessionChoice, file: string): SessionPlan['start'] {
  const start = { environment, labels: { source }, ...(project === undefined ? {} : { project }) };
  const parsed = RecordSessionStartInput.safeParse({ ...start, session_id });
  if (!parsed.success) throw new CliError(`${file}: cannot start a session from it: ${describeIssues(parsed.error)}`);
  return start;
}

/** The calls that send a whole run. */
export const planOf = (run: ImportedRun, choice: SessionChoice, file: string): SessionPlan => ({
  session_id: choice.session_id,
  start: sessionStart(run.environment, choice, file),
  outcomes: run.outcomes,
  finish: run.summary,
});
