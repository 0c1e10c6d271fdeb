import {
  LIMITS,
  type Counts,
  type FailureEntry,
  type Outcome,
  type PytestEvent,
  type SessionRef,
  type SessionView,
  type SlowEntry,
  type StoredSession,
  type StuckMark,
  type Summary,
  type TestResult,
} from '#contracts';
import { clipUtf8, utf8Length } from './text.js';

export type Projection =
  | { kind: 'applied'; view: SessionView }
  /** Already folded in (a redelivery): the view stays as it is. */
  | { kind: 'skipped' }
  /** An earlier event of the session is missing: fold that one first. */
  | { kind: 'gap'; expectedVersion: number }
  /** The session is stuck at an earlier event: nothing more is folded until it is re-folded. */
  | { kind: 'stuck' }
  /** The event cannot belong where it is stored (it repeats a version already folded from an earlier sequence). */
  | { kind: 'invalid'; reason: string };

/**
 * Folds one event, stored at stream sequence `seq`, into the view of the session it belongs to
 * (`owner` comes from the event's subject). Pure and idempotent: the view records the last version
 * folded, so an event seen twice changes nothing.
 */
export function projectSession(stored: StoredSession | null, event: PytestEvent, seq: number, owner: string): Projection {
  if (stored?.stuck) return { kind: 'stuck' };
  const view = stored as SessionView | null;
  const folded = view?.version ?? 0;
  if (event.version <= folded) {
    // A redelivery sits at or before the last folded sequence; a later message repeating a version is another writer's.
    return seq <= view!.last_seq ? { kind: 'skipped' } : { kind: 'invalid', reason: `it repeats version ${event.version}, folded before` };
  }
  if (event.version !== folded + 1) return { kind: 'gap', expectedVersion: folded + 1 };
  if (view === null) {
    return event.type === 'SessionStarted' ? { kind: 'applied', view: startedView(event, seq, owner) } : { kind: 'gap', expectedVersion: 1 };
  }
  const next: SessionView = { ...view, last_seq: seq, version: event.version, updated_at: event.at };
  switch (event.type) {
    case 'SessionStarted':
      return { kind: 'applied', view: next };
    case 'TestOutcomesRecorded':
      return { kind: 'applied', view: foldResults(next, event.data.results) };
    case 'SessionFinished':
      return { kind: 'applied', view: finishedView(next, event.data.summary, event.at) };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

export const emptyCounts = (): Counts => ({ passed: 0, failed: 0, skipped: 0, error: 0, xfailed: 0, xpassed: 0, total: 0 });

/**
 * The category pytest's own summary counts a phase under: passed setup and teardown phases are not
 * counted, and a failure outside the test call is an error.
 */
export function countedAs(when: TestResult['when'], outcome: Outcome): Outcome | null {
  if (when === 'call') return outcome;
  if (outcome === 'passed') return null;
  return outcome === 'failed' ? 'error' : outcome;
}

/** Durations are sums of floats: keep microseconds, drop the binary noise. */
const roundMicros = (seconds: number) => Math.round(seconds * 1e6) / 1e6;

const isFailure = (category: Outcome | null) => category === 'failed' || category === 'error';

/**
 * The session as stored once an event could not be folded: the view as it was (or, for its first
 * event, only the mark), saying which event and why.
 */
export function stuckSession(stored: StoredSession | null, ref: SessionRef, mark: StuckMark): StoredSession {
  return stored ? { ...stored, stuck: mark } : { session_id: ref.sessionId, owner: ref.owner, stuck: mark };
}

function startedView(event: Extract<PytestEvent, { type: 'SessionStarted' }>, seq: number, owner: string): SessionView {
  const { environment, project, labels, ci } = event.data;
  return {
    session_id: event.sessionId,
    owner,
    status: 'running',
    environment,
    project: project ?? null,
    labels: labels ?? {},
    ci: ci ?? null,
    started_at: event.at,
    finished_at: null,
    duration: null,
    tests_duration: 0,
    counts: emptyCounts(),
    reruns: 0,
    failures: [],
    failures_omitted: 0,
    slowest: [],
    summary: null,
    summary_matches: null,
    summary_mismatches: [],
    exitstatus: null,
    last_seq: seq,
    version: event.version,
    updated_at: event.at,
    stuck: null,
  };
}

/**
 * Folds an event's results into one working copy of the view (not a copy per result); its lists
 * are copied only when a result changes them.
 */
function foldResults(view: SessionView, results: TestResult[]): SessionView {
  const draft = { ...view, counts: { ...view.counts } };
  for (const result of results) foldResult(draft, result);
  return draft;
}

function foldResult(draft: SessionView, result: TestResult): void {
  draft.tests_duration = roundMicros(draft.tests_duration + result.duration);
  draft.slowest = withSlow(draft.slowest, result);
  if (result.superseded) return;
  const { counts } = draft;
  if (result.replaces) {
    draft.reruns++;
    const replaced = countedAs(result.when, result.replaces);
    if (replaced) {
      counts[replaced]--;
      counts.total--;
    }
    if (isFailure(replaced)) {
      const at = draft.failures.findIndex((f) => f.nodeid === result.nodeid && f.when === result.when);
      if (at >= 0) draft.failures = draft.failures.toSpliced(at, 1);
      else draft.failures_omitted--;
    }
  }
  const category = countedAs(result.when, result.outcome);
  if (category) {
    counts[category]++;
    counts.total++;
  }
  if (isFailure(category)) {
    const entry = failureEntry(result, category);
    if (fitsFailures(draft.failures, entry)) draft.failures = [...draft.failures, entry];
    else draft.failures_omitted++;
  }
}

/** Whether one more failure stays within LIMITS.viewFailures entries and LIMITS.viewFailureBytes of JSON. */
function fitsFailures(failures: FailureEntry[], entry: FailureEntry): boolean {
  if (failures.length >= LIMITS.viewFailures) return false;
  const bytes = (f: FailureEntry) => utf8Length(JSON.stringify(f)) + 1;
  return failures.reduce((sum, f) => sum + bytes(f), bytes(entry)) <= LIMITS.viewFailureBytes;
}

function failureEntry(result: TestResult, category: Outcome): FailureEntry {
  const error = result.error ?? result.longrepr;
  return {
    nodeid: result.nodeid,
    when: result.when,
    outcome: category,
    error: error === undefined ? null : clipUtf8(error, LIMITS.viewErrorBytes),
    duration: result.duration,
    attempt: result.attempt,
  };
}

/** Keeps the LIMITS.viewSlowest slowest results, slowest first; equal durations keep arrival order. */
function withSlow(slowest: SlowEntry[], result: TestResult): SlowEntry[] {
  if (slowest.length >= LIMITS.viewSlowest && result.duration <= slowest.at(-1)!.duration) return slowest;
  const entry = { nodeid: result.nodeid, when: result.when, outcome: result.outcome, duration: result.duration };
  const at = slowest.findIndex((s) => s.duration < result.duration);
  return slowest.toSpliced(at < 0 ? slowest.length : at, 0, entry).slice(0, LIMITS.viewSlowest);
}

function finishedView(view: SessionView, summary: Summary, at: string): SessionView {
  const mismatches = summaryMismatches(summary, view.counts);
  return {
    ...view,
    status: 'finished',
    finished_at: at,
    duration: roundMicros(Math.max(0, (Date.parse(at) - Date.parse(view.started_at)) / 1000)),
    summary,
    summary_matches: mismatches.length === 0,
    summary_mismatches: mismatches,
    exitstatus: summary.exitstatus,
  };
}

/** Reported summary fields beside the counts they name; optional ones only when reported. */
const SUMMARY_FIELDS = [
  ['total_tests', 'total'],
  ['passed', 'passed'],
  ['failed', 'failed'],
  ['skipped', 'skipped'],
  ['errors', 'error'],
  ['xfailed', 'xfailed'],
  ['xpassed', 'xpassed'],
] as const satisfies ReadonlyArray<readonly [keyof Summary, keyof Counts]>;

export function summaryMismatches(summary: Summary, counts: Counts): SessionView['summary_mismatches'] {
  return SUMMARY_FIELDS.flatMap(([field, count]) => {
    const reported = summary[field];
    return reported === undefined || reported === counts[count] ? [] : [{ field, reported, recorded: counts[count] }];
  });
}
