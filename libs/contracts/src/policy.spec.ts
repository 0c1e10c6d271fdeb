import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyFile } from './policy.js';

const problems = (input: unknown) => {
  const result = PolicyFile.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};

describe('PolicyFile', () => {
  it('reads the sample policy shipped in the repo', () => {
    expect(PolicyFile.safeParse(JSON.parse(readFileSync('policy.example.json', 'utf8'))).success).toBe(true);
  });

  it('fills in what a minimal file leaves out: deny by default, nothing listed', () => {
    expect(PolicyFile.parse({ version: '1' })).toEqual({ version: '1', default: 'deny', hide: [], tools: {}, grants: {}, sessions: { read: 'own' } });
  });

  it('names the field at fault', () => {
    expect(problems({ version: '2' })).toEqual(['version: version must be "1"']);
    expect(problems({ version: '1', tools: { record_everything: {} } })[0]).toMatch(/^tools.record_everything: .*unknown tool "record_everything"/);
    expect(problems({ version: '1', hide: ['get_sesion'] })[0]).toMatch(/^hide.0: unknown tool "get_sesion"/);
    expect(problems({ version: '1', tools: { get_session: { limits: [{ counter: 'c', window: 'week', max: 1 }] } } })[0]).toMatch(
      /^tools.get_session.limits.0.window: /,
    );
    expect(problems({ version: '1', tools: { get_session: { deny_if: [{ path: 'args.x', op: 'in', value: 'a' }] } } })).toEqual([
      'tools.get_session.deny_if.0.value: "in" needs an array value',
    ]);
    expect(problems({ version: '1', tools: { get_session: { deny_if: [{ path: 'args.x', op: 'matches', value: '(' }] } } })[0]).toMatch(
      /^tools.get_session.deny_if.0.value: "matches": /,
    );
    expect(problems({ version: '1', tools: { get_session: { require_approval: { timeout: '10 minutes' } } } })[0]).toMatch(
      /^tools.get_session.require_approval.timeout: must be a duration/,
    );
    expect(problems({ version: '1', tools: { get_session: { rate: 5 } } })[0]).toMatch(/^tools.get_session: Unrecognized key/);
  });

  it('refuses rules on record_test_outcome that record_test_outcomes would walk around', () => {
    const single = { record_test_outcome: { limits: [{ counter: 'outcomes', window: 'minute', max: 100 }] } };
    expect(problems({ version: '1', default: 'allow', tools: single })).toEqual([
      expect.stringMatching(/^tools.record_test_outcomes: record_test_outcome has limits, but record_test_outcomes .* would be allowed without them/),
    ]);
    expect(problems({ version: '1', grants: { ci: { default: 'allow', tools: single } } })[0]).toMatch(/^grants.ci.tools.record_test_outcomes: /);
    expect(problems({ version: '1', default: 'allow', tools: { ...single, record_test_outcomes: {} } })).toEqual([]);
    expect(problems({ version: '1', default: 'allow', hide: ['record_test_outcomes'], tools: single })).toEqual([]);
    expect(problems({ version: '1', default: 'deny', tools: single })).toEqual([]);
  });

  it('reads approval timeouts as milliseconds, at most a day', () => {
    const parsed = PolicyFile.parse({ version: '1', tools: { get_session: { require_approval: { timeout: '10m' } } } });
    expect(parsed.tools.get_session?.require_approval?.timeout).toBe(600_000);
    expect(problems({ version: '1', tools: { get_session: { require_approval: { timeout: '2d' } } } })[0]).toMatch(/at most 1d/);
  });
});
