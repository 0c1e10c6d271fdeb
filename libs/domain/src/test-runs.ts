import { isFailing, OUTCOME_SEVERITY, READ_BOUNDS, type FlakyTest, type Outcome, type SlowTest } from '#contracts';

/**
 * A test's run in one session: its last attempt, as the worst of that attempt's phases, and
 * whether an earlier attempt failed (so a pass is a pass on rerun).
 */
export interface TestRunState {
  attempt: number;
  outcome: Outcome;
  duration: number;
  error: string | null;
  earlierAttemptFailed: boolean;
}

/** One recorded phase of a test, as it folds into the test's run. */
export interface RunPhase {
  attempt: number;
  outcome: Outcome;
  duration: number;
  error: string | null;
}

/**
 * Folds one more phase into a test's run in a session. A later attempt replaces the run (noting
 * whether the one it replaces failed); a phase of the same attempt adds its duration and keeps the
 * worse outcome (with its error); a phase of an earlier attempt arriving late only tells whether
 * an earlier attempt failed. The SQL stores apply the same rule in their upserts.
 */
export function mergeRun(run: TestRunState | undefined, phase: RunPhase): TestRunState {
  if (!run) return { ...phase, earlierAttemptFailed: false };
  if (phase.attempt > run.attempt) return { ...phase, earlierAttemptFailed: run.earlierAttemptFailed || isFailing(run.outcome) };
  if (phase.attempt < run.attempt) return { ...run, earlierAttemptFailed: run.earlierAttemptFailed || isFailing(phase.outcome) };
  const worse = OUTCOME_SEVERITY[phase.outcome] > OUTCOME_SEVERITY[run.outcome];
  return {
    ...run,
    outcome: worse ? phase.outcome : run.outcome,
    error: worse ? phase.error : run.error,
    duration: run.duration + phase.duration,
  };
}

export const passedOnRerun = (run: Pick<TestRunState, 'outcome' | 'earlierAttemptFailed'>): boolean => run.outcome === 'passed' && run.earlierAttemptFailed;

/** A test's run in one session of a window, as flakiness and durations look at it. */
export interface WindowRun {
  outcome: Outcome;
  duration: number;
  attempt: number;
  rerunPassed: boolean;
  startedAt: string;
}

/**
 * Flakiness of one test over a window of sessions (its runs oldest first): a flip is a change
 * between passed and failed/error from one session to the next where it ran, or a pass after a
 * failed attempt in one session. Null unless it is flaky: it passed on a rerun, or flipped at
 * least twice — one change alone is a test that broke (or was fixed), not a flaky one.
 */
export function flakiness(nodeid: string, runs: readonly WindowRun[]): FlakyTest | null {
  const decided = runs.filter((run) => run.outcome === 'passed' || isFailing(run.outcome));
  let flips = 0;
  let lastFlipAt: string | null = null;
  decided.forEach((run, i) => {
    const changed = i > 0 && isFailing(decided[i - 1]!.outcome) !== isFailing(run.outcome);
    const runFlips = (changed ? 1 : 0) + (run.rerunPassed ? 1 : 0);
    if (runFlips > 0) {
      flips += runFlips;
      lastFlipAt = run.startedAt;
    }
  });
  const rerunPasses = decided.filter((run) => run.rerunPassed).length;
  if (flips < 2 && rerunPasses === 0) return null;
  const chances = decided.length - 1 + decided.filter((run) => run.attempt > 1).length;
  return {
    nodeid,
    runs: decided.length,
    flips,
    flip_rate: Math.min(1, flips / Math.max(1, chances)),
    rerun_passes: rerunPasses,
    last_flip_at: lastFlipAt,
  };
}

/** Durations of one test over a window (its runs oldest first): mean, last, and the newer half's mean over the older half's. */
export function durationTrend(nodeid: string, runs: readonly WindowRun[]): SlowTest | null {
  if (runs.length === 0) return null;
  const durations = runs.map((run) => run.duration);
  const half = Math.floor(durations.length / 2);
  const older = mean(durations.slice(0, half));
  const newer = mean(durations.slice(durations.length - half));
  return {
    nodeid,
    runs: runs.length,
    mean_duration: mean(durations),
    last_duration: durations.at(-1)!,
    trend: half === 0 || older === 0 ? 1 : newer / older,
    durations,
  };
}

/** The flaky tests (highest flip rate first) and the slowest (highest mean first) of a window, given each test's runs oldest first. */
export function windowReport(runsByTest: ReadonlyMap<string, readonly WindowRun[]>): { tests: FlakyTest[]; slowest: SlowTest[] } {
  const tests: FlakyTest[] = [];
  const slowest: SlowTest[] = [];
  for (const [nodeid, runs] of runsByTest) {
    const flaky = flakiness(nodeid, runs);
    if (flaky) tests.push(flaky);
    const slow = durationTrend(nodeid, runs);
    if (slow) slowest.push(slow);
  }
  tests.sort((a, b) => b.flip_rate - a.flip_rate || b.flips - a.flips || a.nodeid.localeCompare(b.nodeid));
  slowest.sort((a, b) => b.mean_duration - a.mean_duration || a.nodeid.localeCompare(b.nodeid));
  return { tests: tests.slice(0, READ_BOUNDS.listed), slowest: slowest.slice(0, READ_BOUNDS.listed) };
}

const mean = (values: readonly number[]): number => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
