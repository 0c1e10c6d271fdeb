import { describe, expect, it } from 'vitest';
import { PolicyFile, type Identity } from '#contracts';
import { checkCall, holds, visibleTools, windowAt } from './policy.js';

const ci: Identity = { agent: 'ci-runner-1', grant: 'ci' };
const dashboard: Identity = { agent: 'board', grant: 'dashboards' };

/** The example, with a read-only grant beside it. */
const policy = PolicyFile.parse({
  version: '1',
  default: 'deny',
  hide: ['record_session_finish'],
  all_tools: { limits: [{ counter: 'all_per_minute', window: 'minute', max: 600, scope: 'grant' }] },
  tools: {
    record_session_start: { limits: [{ counter: 'record_session_start_rate', window: 'minute', max: 30, scope: 'grant' }] },
    get_session: {},
    record_test_outcome: { deny_if: [{ path: 'args.outcome', op: 'eq', value: 'xpassed' }], on_deny: 'xpassed outcomes go through CI' },
  },
  grants: { dashboards: { default: 'deny', tools: { get_session: { require_approval: { timeout: '2m' } } } } },
});

const call = (tool: string, args: unknown = {}, identity = ci) => checkCall(policy, { tool, args, identity, mcpSession: 'm-1' });

describe('policy: which calls are allowed', () => {
  it('denies a hidden tool, naming the rule', () => {
    expect(call('record_session_finish')).toEqual({ allowed: false, rule: 'hide', reason: 'record_session_finish is hidden by policy' });
  });

  it('denies what is not listed when the default is deny', () => {
    const closed = PolicyFile.parse({ version: '1', default: 'deny' });
    expect(checkCall(closed, { tool: 'get_session', args: {}, identity: ci, mcpSession: 'm' })).toEqual({
      allowed: false,
      rule: 'default',
      reason: 'get_session is not allowed for grant "ci" (not listed; default is deny)',
    });
  });

  it('denies a tool the server does not have, even where the default is allow, naming the tools the grant may call', () => {
    const open = PolicyFile.parse({ version: '1', default: 'allow', hide: ['record_session_finish'] });
    expect(checkCall(open, { tool: 'drop_database', args: {}, identity: ci, mcpSession: 'm' })).toEqual({
      allowed: false,
      rule: 'unknown_tool',
      reason:
        'unknown tool; the tools you may call are record_session_start, record_test_outcome, record_test_outcomes, get_session, list_sessions, get_session_tests, get_test_history, get_flaky_tests, get_failure_groups',
    });
    expect(call('no_such_tool', {}, dashboard)).toEqual({
      allowed: false,
      rule: 'unknown_tool',
      reason: 'unknown tool; the tools you may call are get_session',
    });
  });

  it('takes no inherited property for a tool, and never echoes the made-up name', () => {
    const open = PolicyFile.parse({ version: '1', default: 'allow' });
    for (const tool of ['constructor', '__proto__', 'toString', '', 'record_session_start\n2026-01-01  allowed']) {
      const verdict = checkCall(open, { tool, args: {}, identity: ci, mcpSession: 'm' });
      expect(verdict).toMatchObject({ allowed: false, rule: 'unknown_tool' });
      expect(JSON.stringify(verdict)).not.toContain('2026-01-01');
    }
  });

  it('says when a grant may call no tool at all', () => {
    const none = PolicyFile.parse({ version: '1', default: 'deny' });
    expect(checkCall(none, { tool: 'x', args: {}, identity: ci, mcpSession: 'm' })).toMatchObject({ reason: 'unknown tool; grant "ci" may call none' });
  });

  it('allows what is not listed when the default is allow', () => {
    const open = PolicyFile.parse({ version: '1', default: 'allow' });
    expect(checkCall(open, { tool: 'get_session', args: {}, identity: ci, mcpSession: 'm' })).toEqual({ allowed: true, limits: [] });
  });

  it('denies by deny_if with the on_deny reason', () => {
    expect(call('record_test_outcome', { nodeid: 't', outcome: 'xpassed' })).toEqual({
      allowed: false,
      rule: 'tools.record_test_outcome.deny_if[0]',
      reason: 'xpassed outcomes go through CI',
    });
    expect(call('record_test_outcome', { nodeid: 't', outcome: 'passed' })).toMatchObject({ allowed: true });
  });

  it('counts the tool\u2019s own limits, then those of all_tools, each under its holder', () => {
    const verdict = call('record_session_start');
    expect(verdict).toMatchObject({
      allowed: true,
      limits: [
        { rule: 'tools.record_session_start.limits[0]', key: 'record_session_start_rate.minute.grant.ci' },
        { rule: 'all_tools.limits[0]', key: 'all_per_minute.minute.grant.ci', text: '600 per minute per grant "ci"' },
      ],
    });
  });

  it('takes once from a count that two limits share, under the lower max', () => {
    const shared = PolicyFile.parse({
      version: '1',
      all_tools: { limits: [{ counter: 'calls', window: 'minute', max: 100 }] },
      tools: { get_session: { limits: [{ counter: 'calls', window: 'minute', max: 10 }] } },
    });
    const verdict = checkCall(shared, { tool: 'get_session', args: {}, identity: ci, mcpSession: 'm' });
    expect(verdict).toMatchObject({ allowed: true, limits: [{ rule: 'tools.get_session.limits[0]', key: 'calls.minute.grant.ci' }] });
    expect((verdict as { limits: unknown[] }).limits).toHaveLength(1);
  });

  it('gives a grant of its own its own policy, rules named under it', () => {
    expect(call('record_session_start', {}, dashboard)).toMatchObject({ allowed: false, rule: 'grants.dashboards.default' });
    expect(call('get_session', {}, dashboard)).toEqual({
      allowed: true,
      limits: [],
      approval: { rule: 'grants.dashboards.tools.get_session.require_approval', timeoutMs: 120_000 },
    });
  });

  it('lists only the tools an identity may call', () => {
    expect(visibleTools(policy, 'ci')).toEqual(['record_session_start', 'record_test_outcome', 'get_session']);
    expect(visibleTools(policy, 'dashboards')).toEqual(['get_session']);
  });
});

describe('policy: deny_if conditions', () => {
  const args = { outcome: 'failed', duration: 12.5, environment: { os: 'Linux' }, labels: ['slow'], error: 'Timeout in db' };
  it.each([
    ['args.outcome', 'eq', 'failed', true],
    ['args.outcome', 'neq', 'failed', false],
    ['args.outcome', 'in', ['failed', 'error'], true],
    ['args.outcome', 'not_in', ['failed'], false],
    ['args.environment.os', 'eq', 'Linux', true],
    ['args.environment', 'eq', { os: 'Linux' }, true],
    ['args.error', 'contains', 'db', true],
    ['args.labels', 'contains', 'slow', true],
    ['args.labels', 'not_contains', 'slow', false],
    ['args.error', 'matches', '^Timeout', true],
    ['args.duration', 'gt', 10, true],
    ['args.duration', 'lte', 10, false],
    ['args.missing', 'eq', null, false],
    ['args.missing', 'exists', undefined, false],
    ['args.missing', 'not_exists', undefined, true],
    ['args.outcome.deeper', 'exists', undefined, false],
  ] as const)('%s %s %j → %s', (path, op, value, expected) => {
    expect(holds({ path, op, value: value as never }, args)).toBe(expected);
  });

  it('reads no inherited properties', () => {
    expect(holds({ path: 'args.constructor', op: 'exists' }, {})).toBe(false);
  });

  describe('over the items of a batch', () => {
    const batch = {
      outcomes: [
        { nodeid: 'a', outcome: 'passed' },
        { nodeid: 'b', outcome: 'failed', error: 'boom' },
      ],
    };
    it.each([
      ['args.outcomes.outcome', 'eq', 'failed', true],
      ['args.outcomes.outcome', 'eq', 'error', false],
      ['args.outcomes.outcome', 'neq', 'passed', true],
      ['args.outcomes.error', 'exists', undefined, true],
      ['args.outcomes.error', 'not_exists', undefined, true],
      ['args.outcomes.nodeid', 'in', ['c', 'd'], false],
      ['args.outcomes.0.outcome', 'eq', 'failed', false],
      ['args.outcomes.1.outcome', 'eq', 'failed', true],
      ['args.outcomes', 'exists', undefined, true],
    ] as const)('%s %s %j → %s', (path, op, value, expected) => {
      expect(holds({ path, op, value: value as never }, batch)).toBe(expected);
    });
  });
});

describe('policy: windows', () => {
  it('are fixed and aligned to UTC', () => {
    const now = Date.parse('2026-11-24T10:31:42.500Z');
    expect(windowAt({ counter: 'c', window: 'minute', max: 1, scope: 'grant' }, now)).toEqual({
      start: Date.parse('2026-11-24T10:31:00Z'),
      end: Date.parse('2026-11-24T10:32:00Z'),
    });
    expect(windowAt({ counter: 'c', window: 'day', max: 1, scope: 'grant' }, now).start).toBe(Date.parse('2026-11-24T00:00:00Z'));
  });
});
