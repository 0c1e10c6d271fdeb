import type { Counts, Outcome, OutcomeItem, Summary } from '#contracts';
import { countedAs } from '#domain';

/**
 * Counts outcomes the way the session view does (pytest's own summary): a passed setup or teardown is
 * not counted, a failed one is an error, and of a test phase's attempts only the last counts (a rerun
 * replaces the one before). So the summary an importer reports is the one its outcomes add up to.
 */
export class OutcomeTally {
  /** The latest attempt of each phase of each test. */
  private readonly latest = new Map<string, { attempt: number; counted: Outcome | null }>();

  add(item: OutcomeItem): void {
    const when = item.when ?? 'call';
    const attempt = item.attempt ?? 1;
    const key = `${when}:${item.nodeid}`;
    if ((this.latest.get(key)?.attempt ?? 0) <= attempt) this.latest.set(key, { attempt, counted: countedAs(when, item.outcome) });
  }

  counts(): Counts {
    const counts: Counts = { passed: 0, failed: 0, skipped: 0, error: 0, xfailed: 0, xpassed: 0, total: 0 };
    for (const { counted } of this.latest.values()) {
      if (!counted) continue;
      counts[counted]++;
      counts.total++;
    }
    return counts;
  }

  /** pytest's summary of these outcomes, with the run's exit status and, where known, its wall-clock duration. */
  summary(exitstatus: number, duration?: number): Summary {
    const { total, passed, failed, skipped, error, xfailed, xpassed } = this.counts();
    const summary: Summary = { total_tests: total, passed, failed, skipped, exitstatus, errors: error, xfailed, xpassed };
    return duration === undefined ? summary : { ...summary, duration };
  }
}
