import { describe, expect, it } from 'vitest';
import type { Outcome } from '#contracts';
import { durationTrend, flakiness, mergeRun, windowReport, type RunPhase, type TestRunState, type WindowRun } from './test-runs.js';

const phase = (attempt: number, outcome: Outcome, duration = 1, error: string | null = null): RunPhase => ({ attempt, outcome, duration, error });
const fold = (...phases: RunPhase[]) => phases.reduce<TestRunState | undefined>(mergeRun, undefined)!;
const runs = (outcomes: string, durations: number[] = []): WindowRun[] =>
  [...outcomes].map((code, i) => ({
    outcome: ({ P: 'passed', F: 'failed', E: 'error', S: 'skipped', R: 'passed' } as const)[code as 'P'],
    rerunPassed: code === 'R',
    attempt: code === 'R' ? 2 : 1,
    duration: durations[i] ?? 1,
    startedAt: `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00.000Z`,
  }));

describe('mergeRun', () => {
  it('combines the phases of one attempt: durations add up, the worst outcome and its error win', () => {
    expect(fold(phase(1, 'passed', 0.1), phase(1, 'failed', 0.2, 'boom'), phase(1, 'passed', 0.3))).toEqual({
      attempt: 1,
      outcome: 'failed',
      duration: 0.1 + 0.2 + 0.3,
      error: 'boom',
      earlierAttemptFailed: false,
    });
  });

  it('lets a later attempt replace the run, remembering that an earlier one failed', () => {
    expect(fold(phase(1, 'failed', 1, 'x'), phase(2, 'passed', 2))).toEqual({
      attempt: 2,
      outcome: 'passed',
      duration: 2,
      error: null,
      earlierAttemptFailed: true,
    });
    expect(fold(phase(1, 'passed'), phase(2, 'passed')).earlierAttemptFailed).toBe(false);
  });

  it('keeps the later attempt when an earlier one arrives late, noting its failure', () => {
    expect(fold(phase(2, 'passed', 2), phase(1, 'error', 1, 'x'))).toEqual({
      attempt: 2,
      outcome: 'passed',
      duration: 2,
      error: null,
      earlierAttemptFailed: true,
    });
  });
});

describe('flakiness', () => {
  it('counts changes between passed and failing from one session to the next', () => {
    expect(flakiness('t', runs('PFPFPP'))).toMatchObject({ runs: 6, flips: 4, flip_rate: 4 / 5, rerun_passes: 0, last_flip_at: '2026-01-05T00:00:00.000Z' });
  });

  it('counts a pass after a failed attempt in one session as a flip', () => {
    expect(flakiness('t', runs('PPRPPP'))).toMatchObject({ runs: 6, flips: 1, flip_rate: 1 / 6, rerun_passes: 1, last_flip_at: '2026-01-03T00:00:00.000Z' });
  });

  it('ignores skipped runs, and calls a single break (or fix) no flakiness', () => {
    expect(flakiness('t', runs('PSFSP'))).toMatchObject({ runs: 3, flips: 2, flip_rate: 1 });
    expect(flakiness('t', runs('PPPPFF'))).toBeNull();
    expect(flakiness('t', runs('FFFP'))).toBeNull();
    expect(flakiness('t', runs('PPPP'))).toBeNull();
    expect(flakiness('t', runs(''))).toBeNull();
  });

  it('treats error like failed', () => {
    expect(flakiness('t', runs('FEFE'))).toBeNull();
    expect(flakiness('t', runs('PEPE'))).toMatchObject({ flips: 3 });
  });
});

describe('durationTrend', () => {
  it('compares the newer half of the runs with the older half', () => {
    expect(durationTrend('t', runs('PPPPPP', [1, 1, 1, 2, 3, 4]))).toEqual({
      nodeid: 't',
      runs: 6,
      mean_duration: 2,
      last_duration: 4,
      trend: 3,
      durations: [1, 1, 1, 2, 3, 4],
    });
    expect(durationTrend('t', runs('PPP', [2, 9, 1]))!.trend).toBe(0.5);
    expect(durationTrend('t', runs('P', [5]))!.trend).toBe(1);
    expect(durationTrend('t', runs('PP', [0, 5]))!.trend).toBe(1);
  });
});

describe('windowReport', () => {
  it('orders flaky tests by flip rate and the slowest by mean duration', () => {
    const report = windowReport(
      new Map([
        ['steady', runs('PPPP', [5, 5, 5, 5])],
        ['often', runs('PFPF', [1, 1, 1, 1])],
        ['sometimes', runs('PFFP', [2, 2, 2, 2])],
      ]),
    );
    expect(report.tests.map((t) => t.nodeid)).toEqual(['often', 'sometimes']);
    expect(report.slowest.map((t) => t.nodeid)).toEqual(['steady', 'sometimes', 'often']);
  });
});
