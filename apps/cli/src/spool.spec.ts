import { describe, expect, it } from 'vitest';
import { ARGUMENT_BOUNDS } from '#contracts';
import { parseSpool } from './spool.js';

const HEADER = { mcp_pytest_spool: 1, url: 'http://127.0.0.1:3000/mcp', session_id: 'run-42' };
const START = { tool: 'record_session_start', arguments: { session_id: 'run-42', environment: { os: 'Linux', python_version: '3.12.3' } } };
const OUTCOMES = { tool: 'record_test_outcomes', arguments: { session_id: 'run-42', outcomes: [{ nodeid: 't.py::a', outcome: 'passed', duration: 0.1 }] } };
const FINISH = {
  tool: 'record_session_finish',
  arguments: { session_id: 'run-42', summary: { total_tests: 1, passed: 1, failed: 0, skipped: 0, exitstatus: 0 } },
};

const spool =
  (...records: Array<object | string>) =>
  () =>
    parseSpool(
      records.map((record, index) => ({ text: typeof record === 'string' ? record : JSON.stringify(record), number: index + 1 })),
      'spool.jsonl',
    );

describe('spool', () => {
  it('reads the header and the calls in order, with their lines; blank lines are skipped', () => {
    const { header, calls } = spool(HEADER, START, '', OUTCOMES, OUTCOMES, FINISH)();
    expect(header).toEqual(HEADER);
    expect(calls.map(({ call, line }) => [call.tool, line])).toEqual([
      ['record_session_start', 2],
      ['record_test_outcomes', 4],
      ['record_test_outcomes', 5],
      ['record_session_finish', 6],
    ]);
  });

  it('takes a spool without a finish (the run did not end), but not one without its start', () => {
    expect(spool(HEADER, START, OUTCOMES)().calls).toHaveLength(2);
    expect(spool(HEADER, OUTCOMES, FINISH)).toThrow(
      'spool.jsonl: line 2: record_test_outcomes: the first call must be record_session_start: a spool holds a whole session, from its start',
    );
    expect(spool(HEADER, FINISH)).toThrow(/^spool\.jsonl: line 2: record_session_finish: the first call must be record_session_start/);
  });

  it("refuses a line that breaks the format or its tool's contract, naming it and the field", () => {
    expect(spool({ ...HEADER, mcp_pytest_spool: 2 }, START)).toThrow(
      'spool.jsonl: line 1: the header: mcp_pytest_spool: must be 1 (the spool format this version reads)',
    );
    expect(spool(HEADER, START, '{"tool": ')).toThrow(/^spool\.jsonl: line 3: not JSON: /);
    expect(spool(HEADER, START, { tool: 'drop_tables', arguments: {} })).toThrow(/^spool\.jsonl: line 3: tool: Invalid discriminator value/);
    const badOutcome = { ...OUTCOMES, arguments: { ...OUTCOMES.arguments, outcomes: [{ nodeid: 't.py::a', outcome: 'passed', duration: -1 }] } };
    expect(spool(HEADER, START, badOutcome)).toThrow('spool.jsonl: line 3: arguments.outcomes.0.duration: must be a non-negative number of seconds');
    expect(spool(HEADER, { ...START, extra: 1 })).toThrow(/^spool\.jsonl: line 2: Unrecognized key: "extra"/);
  });

  it('holds arguments to the bounds the gateway holds every call to, before its schema walks them', () => {
    const deep = `{"tool": "record_session_start", "arguments": {"session_id": "run-42", "environment": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    expect(spool(HEADER, deep)).toThrow(
      new RegExp(`^spool\\.jsonl: line 2: arguments\\.environment(\\.0){${ARGUMENT_BOUNDS.depth - 1}}: nested deeper than ${ARGUMENT_BOUNDS.depth} levels$`),
    );
    const many = Array.from({ length: ARGUMENT_BOUNDS.entries }, (_, i) => ({ nodeid: `t.py::${i}`, outcome: 'passed', duration: 0 }));
    expect(spool(HEADER, START, { ...OUTCOMES, arguments: { ...OUTCOMES.arguments, outcomes: many } })).toThrow(
      `spool.jsonl: line 3: arguments.outcomes: more than ${ARGUMENT_BOUNDS.entries} keys and items in all`,
    );
    expect(spool(HEADER, '{"tool": "record_session_start", "arguments": {"session_id": "run-42", "__proto__": {}}}')).toThrow(
      'spool.jsonl: line 2: arguments: the key "__proto__" is not allowed',
    );
  });

  it('refuses calls out of place or for another session', () => {
    const other = { ...OUTCOMES, arguments: { ...OUTCOMES.arguments, session_id: 'run-43' } };
    expect(spool(HEADER, START, other)).toThrow('spool.jsonl: line 3: record_test_outcomes: arguments.session_id: must be the spool\'s session "run-42"');
    const unnamed = { ...OUTCOMES, arguments: { outcomes: OUTCOMES.arguments.outcomes } };
    expect(spool(HEADER, START, unnamed)).toThrow('spool.jsonl: line 3: record_test_outcomes: arguments.session_id: must be the spool\'s session "run-42"');
    expect(spool(HEADER, START, OUTCOMES, START)).toThrow('spool.jsonl: line 4: record_session_start: record_session_start can only be the first call');
    expect(spool(HEADER, START, FINISH, OUTCOMES)).toThrow(
      'spool.jsonl: line 4: record_test_outcomes: a call after record_session_finish (line 3): nothing can follow the finish',
    );
    expect(spool()).toThrow(/^spool\.jsonl: line 1: empty: a spool begins with its header/);
    expect(spool(HEADER)).toThrow('spool.jsonl: line 1: the spool holds no tool calls after its header: nothing to upload');
  });
});
