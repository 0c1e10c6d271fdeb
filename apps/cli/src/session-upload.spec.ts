import { describe, expect, it } from 'vitest';
import { LIMITS, type OutcomeItem } from '#contracts';
import { OutcomeTally } from './outcome-tally.js';
import { Progress } from './progress.js';
import { BATCH_BYTES, outcomeBatches, resultLine } from './session-upload.js';

const item = (n: number, extra: Partial<OutcomeItem> = {}): OutcomeItem => ({ nodeid: `t.py::test_${n}`, outcome: 'passed', duration: 0.01, ...extra });

describe('sending a session', () => {
  it('splits outcomes into calls of at most LIMITS.batchOutcomes items, in order', () => {
    const items = Array.from({ length: 2 * LIMITS.batchOutcomes + 1 }, (_, n) => item(n));
    const batches = [...outcomeBatches(items)];
    expect(batches.map((batch) => batch.length)).toEqual([LIMITS.batchOutcomes, LIMITS.batchOutcomes, 1]);
    expect(batches.flat()).toEqual(items);
    expect([...outcomeBatches([])]).toEqual([]);
  });

  it('splits outcomes into calls of at most BATCH_BYTES of JSON; an item larger than that goes alone', () => {
    const big = (n: number) => item(n, { longrepr: 'x'.repeat(300 * 1024) });
    const sizes = [...outcomeBatches([big(1), big(2), big(3), big(4), item(5)])].map((batch) => batch.length);
    expect(sizes).toEqual([3, 2]);
    const huge = item(6, { longrepr: 'x'.repeat(BATCH_BYTES + 1) });
    expect([...outcomeBatches([item(1), huge, item(2)])].map((batch) => batch.map((i) => i.nodeid))).toEqual([
      ['t.py::test_1'],
      ['t.py::test_6'],
      ['t.py::test_2'],
    ]);
  });

  it('says what was sent in one line', () => {
    expect(resultLine({ session_id: 'junit-ab', outcomes: 12, recorded: 10, duplicates: 2, finished: true })).toBe(
      'session junit-ab: 12 outcomes (10 recorded, 2 already recorded), finished',
    );
  });
});

describe('OutcomeTally', () => {
  it('counts like the session view: passed setup/teardown not at all, failed ones as errors, the last attempt only', () => {
    const tally = new OutcomeTally();
    [
      item(1),
      item(1, { when: 'setup' }),
      item(2, { when: 'teardown', outcome: 'failed' }),
      item(3, { outcome: 'failed' }),
      item(3, { outcome: 'passed', attempt: 2 }),
      item(4, { outcome: 'xfailed' }),
      item(5, { outcome: 'error', when: 'setup' }),
    ].forEach((i) => tally.add(i));
    expect(tally.summary(1, 2.5)).toEqual({
      total_tests: 5,
      passed: 2,
      failed: 0,
      skipped: 0,
      errors: 2,
      xfailed: 1,
      xpassed: 0,
      exitstatus: 1,
      duration: 2.5,
    });
    expect(tally.summary(0)).not.toHaveProperty('duration');
  });
});

describe('Progress', () => {
  const stream = (isTTY: boolean) => ({
    isTTY,
    columns: 100,
    written: [] as string[],
    write(text: string) {
      this.written.push(text);
    },
  });

  it('draws a bar on a terminal once the work takes a while, and clears it at the end', () => {
    let now = 0;
    const tty = stream(true);
    const progress = new Progress('report.xml', 200, tty, () => now);
    progress.add(50);
    expect(tty.written).toEqual([]);
    now = 1000;
    progress.add(50);
    now = 1050;
    progress.add(10);
    now = 2000;
    progress.add(90);
    progress.end();
    expect(tty.written).toEqual([
      '\rreport.xml: [############............] 50% 100/200 outcomes sent\u001b[K',
      '\rreport.xml: [########################] 100% 200/200 outcomes sent\u001b[K',
      '\r\u001b[K',
    ]);
  });

  it('writes a plain line every 10 s elsewhere, and counts up where the total is unknown', () => {
    let now = 0;
    const log = stream(false);
    const progress = new Progress('report.jsonl', undefined, log, () => now);
    for (now = 0; now <= 25_000; now += 1000) progress.add(1);
    progress.end();
    expect(log.written).toEqual(['report.jsonl: 11 outcomes sent\n', 'report.jsonl: 21 outcomes sent\n']);
  });
});
