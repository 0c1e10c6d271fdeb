/** What pytest's terminal summary line says: each word it counts ("passed", "errors", "rerun", "warnings"…) and its number. */
export type Tally = Record<string, number>;

/** A run's counts as a session view holds them: the six outcomes and their total. */
export interface PytestCounts {
  passed: number;
  failed: number;
  skipped: number;
  error: number;
  xfailed: number;
  xpassed: number;
  total: number;
}

/**
 * pytest's own account of a run, from its terminal output: the last summary line ("1 failed, 5 passed, 2 rerun
 * in 0.12s") as the raw tally, and as counts (its "error" and "errors" are one count; reruns and warnings are not
 * outcomes). Output without a summary line is an error that shows it.
 */
export function summaryCounts(output: string): { counts: PytestCounts; tally: Tally } {
  const line = output
    .trimEnd()
    .split('\n')
    .reverse()
    .find((l) => / in \d+(\.\d+)?s\b/.test(l));
  if (!line) throw new Error(`no summary line in pytest's output:\n${output}`);
  const tally: Tally = Object.fromEntries([...line.matchAll(/(\d+) ([a-z]+)/g)].map(([, n, word]) => [word!, Number(n)]));
  const outcomes = {
    passed: tally.passed ?? 0,
    failed: tally.failed ?? 0,
    skipped: tally.skipped ?? 0,
    error: (tally.error ?? 0) + (tally.errors ?? 0),
    xfailed: tally.xfailed ?? 0,
    xpassed: tally.xpassed ?? 0,
  };
  return { counts: { ...outcomes, total: Object.values(outcomes).reduce((a, b) => a + b, 0) }, tally };
}
