import { describe, expect, it } from 'vitest';
import type { OutcomeItem } from '#contracts';
import { EXCERPT_CHARS } from './cli.js';
import { failureTexts, RECORD_BOUNDS, ReportLogReader } from './reportlog.js';

const START = { pytest_version: '9.0.3', $report_type: 'SessionStart' };
const FINISH = (exitstatus: number) => ({ exitstatus, $report_type: 'SessionFinish' });

/** A TestReport as pytest serialises it (fields the import does not read included). */
function report(nodeid: string, when: string, outcome: string, extra: Record<string, unknown> = {}) {
  return {
    nodeid,
    location: [nodeid.split('::')[0], 10, nodeid.split('::').at(-1)],
    keywords: { [nodeid]: 1 },
    outcome,
    longrepr: null,
    when,
    user_properties: [],
    sections: [],
    duration: 0.5,
    start: 1796111863.2,
    stop: 1796111863.7,
    $report_type: 'TestReport',
    ...extra,
  };
}

/** setup, call and teardown of one test, the call with `outcome`. */
const test = (nodeid: string, outcome: string, extra: Record<string, unknown> = {}) => [
  report(nodeid, 'setup', 'passed'),
  report(nodeid, 'call', outcome, extra),
  report(nodeid, 'teardown', 'passed'),
];

function read(records: object[]): ReportLogReader {
  const reader = new ReportLogReader('report.jsonl');
  records.forEach((record, index) => reader.add(JSON.stringify(record), index + 1));
  return reader;
}

const brief = (items: OutcomeItem[]) => items.map(({ nodeid, outcome, when, attempt }) => [nodeid, outcome, when ?? 'call', attempt ?? 1]);

describe('pytest report log import', () => {
  it('maps reports as pytest counts them: calls always, setup and teardown when they did not pass, xfail, collection', () => {
    const failure = {
      reprcrash: { path: '/src/tests/test_a.py', lineno: 13, message: 'AssertionError: one is not two' },
      reprtraceback: {
        reprentries: [
          {
            type: 'ReprEntry',
            data: { lines: ['>   assert 1 == 2', 'E   AssertionError'], reprfileloc: { path: 'tests/test_a.py', lineno: 13, message: 'AssertionError' } },
          },
        ],
      },
      sections: [],
    };
    const reader = read([
      START,
      { nodeid: 'tests/test_a.py', outcome: 'passed', longrepr: null, result: [], sections: [], $report_type: 'CollectReport' },
      {
        nodeid: 'tests/test_broken.py',
        outcome: 'failed',
        longrepr: "ImportError while importing test module 'x'.\nE   No module",
        result: [],
        sections: [],
        $report_type: 'CollectReport',
      },
      {
        nodeid: 'tests/test_skipmod.py',
        outcome: 'skipped',
        longrepr: ['/src/tests/test_skipmod.py', 2, 'Skipped: whole module'],
        $report_type: 'CollectReport',
      },
      ...test('tests/test_a.py::test_pass', 'passed'),
      ...test('tests/test_a.py::test_fail', 'failed', { longrepr: failure }),
      ...test('tests/test_a.py::test_skip', 'skipped', { longrepr: ['/src/tests/test_a.py', 14, 'Skipped: not today'] }),
      ...test('tests/test_a.py::test_xfail', 'skipped', { wasxfail: 'known bug' }),
      ...test('tests/test_a.py::test_xpass', 'passed', { wasxfail: '' }),
      report('tests/test_a.py::test_setup_error', 'setup', 'failed', { longrepr: 'E RuntimeError: setup boom' }),
      report('tests/test_a.py::test_setup_error', 'teardown', 'passed'),
      report('tests/test_a.py::test_skip_mark', 'setup', 'skipped', { longrepr: ['/src/tests/test_a.py', 30, 'Skipped: marked'] }),
      report('tests/test_a.py::test_skip_mark', 'teardown', 'passed'),
      report('tests/test_a.py::test_teardown_error', 'setup', 'passed'),
      report('tests/test_a.py::test_teardown_error', 'call', 'passed'),
      report('tests/test_a.py::test_teardown_error', 'teardown', 'failed', { longrepr: 'E RuntimeError: teardown boom' }),
      { message: 'DeprecationWarning: x', $report_type: 'WarningMessage' },
      FINISH(1),
    ]);
    const items = reader.take();
    expect(brief(items)).toEqual([
      ['tests/test_broken.py', 'error', 'call', 1],
      ['tests/test_skipmod.py', 'skipped', 'call', 1],
      ['tests/test_a.py::test_pass', 'passed', 'call', 1],
      ['tests/test_a.py::test_fail', 'failed', 'call', 1],
      ['tests/test_a.py::test_skip', 'skipped', 'call', 1],
      ['tests/test_a.py::test_xfail', 'xfailed', 'call', 1],
      ['tests/test_a.py::test_xpass', 'xpassed', 'call', 1],
      ['tests/test_a.py::test_setup_error', 'error', 'setup', 1],
      ['tests/test_a.py::test_skip_mark', 'skipped', 'setup', 1],
      ['tests/test_a.py::test_teardown_error', 'passed', 'call', 1],
      ['tests/test_a.py::test_teardown_error', 'error', 'teardown', 1],
    ]);
    expect(items[2]).toEqual({
      nodeid: 'tests/test_a.py::test_pass',
      outcome: 'passed',
      duration: 0.5,
      location: { path: 'tests/test_a.py', lineno: 10, domain: 'test_pass' },
    });
    expect(items[3]).toMatchObject({
      error: 'AssertionError: one is not two',
      longrepr: '>   assert 1 == 2\nE   AssertionError\n\ntests/test_a.py:13: AssertionError',
    });
    expect(items[4]).toMatchObject({ error: 'not today', longrepr: '/src/tests/test_a.py:14: Skipped: not today' });
    expect(reader.summary()).toEqual({ total_tests: 11, passed: 2, failed: 1, skipped: 3, errors: 3, xfailed: 1, xpassed: 1, exitstatus: 1 });
    expect(reader.environment()).toEqual({ os: 'unknown', python_version: 'unknown', pytest: '9.0.3' });
    expect(reader.finished).toBe(true);
  });

  it('numbers pytest-rerunfailures attempts: each rerun sent as failed with its attempt, the last attempt replacing it', () => {
    const reader = read([
      START,
      report('t.py::flaky', 'setup', 'passed'),
      report('t.py::flaky', 'call', 'rerun', { longrepr: 'E assert 0' }),
      report('t.py::flaky', 'setup', 'passed'),
      report('t.py::flaky', 'call', 'rerun'),
      report('t.py::flaky', 'setup', 'passed'),
      report('t.py::flaky', 'call', 'passed'),
      report('t.py::flaky', 'teardown', 'passed'),
      report('t.py::shaky_fixture', 'setup', 'rerun'),
      report('t.py::shaky_fixture', 'setup', 'passed'),
      report('t.py::shaky_fixture', 'call', 'passed'),
      report('t.py::shaky_fixture', 'teardown', 'passed'),
      FINISH(0),
    ]);
    expect(brief(reader.take())).toEqual([
      ['t.py::flaky', 'failed', 'call', 1],
      ['t.py::flaky', 'failed', 'call', 2],
      ['t.py::flaky', 'passed', 'call', 3],
      ['t.py::shaky_fixture', 'error', 'setup', 1],
      // The passed setup of the next attempt is sent: it replaces the error in the counts.
      ['t.py::shaky_fixture', 'passed', 'setup', 2],
      ['t.py::shaky_fixture', 'passed', 'call', 2],
    ]);
    expect(reader.summary()).toMatchObject({ total_tests: 2, passed: 2, failed: 0, errors: 0, exitstatus: 0 });
  });

  it('knows the session identity at the first test report, or at the end of a run without one', () => {
    const reader = new ReportLogReader('r.jsonl');
    reader.add(JSON.stringify(START), 1);
    reader.add(JSON.stringify({ nodeid: '', outcome: 'passed', longrepr: null, $report_type: 'CollectReport' }), 2);
    expect(reader.started).toBe(true);
    expect(reader.identity(false)).toBeUndefined();
    expect(reader.identity(true)).toBe(`${JSON.stringify(START)}\n`);
    const first = JSON.stringify(report('a.py::t', 'setup', 'passed'));
    reader.add(first, 3);
    expect(reader.identity(false)).toBe(`${JSON.stringify(START)}\n${first}`);
  });

  it('takes outcomes as they are read, for --follow', () => {
    const reader = read([START, ...test('a.py::one', 'passed')]);
    expect(brief(reader.take())).toEqual([['a.py::one', 'passed', 'call', 1]]);
    reader.add(JSON.stringify(report('a.py::two', 'call', 'failed')), 5);
    expect(brief(reader.take())).toEqual([['a.py::two', 'failed', 'call', 1]]);
    expect(reader.take()).toEqual([]);
    expect([reader.finished, reader.summary()]).toEqual([false, undefined]);
  });

  it('refuses a line that is not a report record, naming its line', () => {
    const lines =
      (...texts: string[]) =>
      () => {
        const reader = new ReportLogReader('r.jsonl');
        texts.forEach((text, index) => reader.add(text, index + 1));
      };
    const start = JSON.stringify(START);
    expect(lines(start, '', '{"nodeid": "a", oops')).toThrow(/^r\.jsonl: line 3: not JSON: /);
    expect(lines(start, '[1, 2]')).toThrow('r.jsonl: line 2: not a report log record: a JSON object is expected');
    expect(lines(start, '{"nodeid": "a"}')).toThrow('r.jsonl: line 2: $report_type: must name the record\'s type, e.g. "TestReport"');
    expect(lines(start, JSON.stringify(report('a.py::t', 'call', 'exploded')))).toThrow(
      /^r\.jsonl: line 2: TestReport: outcome: Invalid option: expected one of "passed"\|"failed"\|"skipped"\|"rerun"$/,
    );
    expect(lines(start, JSON.stringify({ ...report('a.py::t', 'call', 'passed'), duration: -1 }))).toThrow(
      'r.jsonl: line 2: TestReport a.py::t: duration: must be a non-negative number of seconds',
    );
    expect(lines(JSON.stringify(report('a.py::t', 'call', 'passed')))).toThrow('r.jsonl: line 1: TestReport: a report log begins with a SessionStart record');
    expect(lines(start, JSON.stringify(FINISH(0)), JSON.stringify(report('a.py::t', 'call', 'passed')))).toThrow(
      'r.jsonl: line 3: a record after the SessionFinish record',
    );
    expect(lines(start, start)).toThrow('r.jsonl: line 2: SessionStart: a second SessionStart record: one file holds one run');
    // A 5 MB node id or record type is named by its start only.
    const huge = 'n'.repeat(5_000_000);
    expect(lines(start, JSON.stringify(report(huge, 'call', 'passed')))).toThrow(
      `r.jsonl: line 2: TestReport ${'n'.repeat(EXCERPT_CHARS - 1)}…: nodeid: must be at most 4096 characters;`,
    );
    expect(lines(start, JSON.stringify({ $report_type: huge, exitstatus: 0 }), start)).toThrow(/^r\.jsonl: line 3: SessionStart: a second SessionStart record/);
    expect(lines(JSON.stringify({ $report_type: huge }))).toThrow(
      `r.jsonl: line 1: ${'n'.repeat(EXCERPT_CHARS - 1)}…: a report log begins with a SessionStart record`,
    );
  });

  it('refuses a record nested too deep or too large before anything walks it, naming the line and the field', () => {
    const reader = read([START]);
    const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    // 100,000 nested arrays: JSON.stringify (a longrepr of unknown shape) or a schema would exhaust the stack.
    const nested = JSON.stringify(report('a.py::t', 'call', 'failed')).replace('"longrepr":null', `"longrepr":${deep(100_000)}`);
    expect(() => reader.add(nested, 2)).toThrow(
      new RegExp(`^report\\.jsonl: line 2: longrepr(\\.0){${RECORD_BOUNDS.depth - 1}}: nested deeper than ${RECORD_BOUNDS.depth} levels$`),
    );
    const wide = JSON.stringify({
      ...report('a.py::t', 'call', 'passed'),
      keywords: Object.fromEntries(Array.from({ length: RECORD_BOUNDS.entries }, (_, i) => [`k${i}`, 1])),
    });
    expect(() => reader.add(wide, 3)).toThrow(`report.jsonl: line 3: keywords: more than ${RECORD_BOUNDS.entries} keys and items in all`);
    // A deep, long traceback as pytest writes it is within bounds: 2,000 frames of 10 lines.
    const frames = Array.from({ length: 2000 }, (_, i) => ({ data: { lines: Array.from({ length: 10 }, (_, j) => `line ${i}.${j}`), reprfileloc: null } }));
    const longrepr = { reprcrash: { message: 'RecursionError' }, reprtraceback: { reprentries: frames } };
    reader.add(JSON.stringify(report('a.py::t', 'call', 'failed', { longrepr })), 4);
    expect(reader.take()).toMatchObject([{ nodeid: 'a.py::t', outcome: 'failed', error: 'RecursionError' }]);
  });

  it("turns longreprs into an error line and pytest's text, keeping shapes it does not know as JSON", () => {
    expect(failureTexts(null)).toEqual({});
    expect(failureTexts('[XPASS(strict)] strict')).toEqual({ error: '[XPASS(strict)] strict', longrepr: '[XPASS(strict)] strict' });
    expect(failureTexts({ something: 'else' })).toEqual({ longrepr: '{"something":"else"}' });
    const entry = (line: string) => ({ data: { lines: [line], reprfileloc: null } });
    const chained = {
      reprcrash: { path: 'x', lineno: 1, message: 'ValueError: second' },
      reprtraceback: { reprentries: [entry('E   ValueError: second')] },
      chain: [
        [{ reprentries: [entry('E   KeyError: first')] }, null, 'During handling of the above exception, another exception occurred:'],
        [{ reprentries: [entry('E   ValueError: second')] }, null, null],
      ],
    };
    expect(failureTexts(chained)).toEqual({
      error: 'ValueError: second',
      longrepr: 'E   KeyError: first\n\nDuring handling of the above exception, another exception occurred:\n\nE   ValueError: second',
    });
  });
});
