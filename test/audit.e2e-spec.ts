import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_PATTERNS, type AuditQueryResult, type AuditRecord } from '#contracts';
import { root } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles, cliProcess } from './harness/policy-files.js';
import { eventually, Proc } from './harness/processes.js';
import { System } from './harness/system.js';
import { environment } from './harness/fixtures.js';

const policy = {
  version: '1',
  default: 'allow',
  tools: {
    record_test_outcome: { deny_if: [{ path: 'args.outcome', op: 'eq', value: 'xpassed' }], on_deny: 'xpassed outcomes go through CI' },
    record_test_outcomes: { deny_if: [{ path: 'args.outcomes.outcome', op: 'eq', value: 'xpassed' }], on_deny: 'xpassed outcomes go through CI' },
  },
};

describe('audit: a record of every call and its decision', () => {
  const files = PolicyFiles.create(policy);
  let system: System;
  let client: McpTestClient;

  beforeAll(async () => {
    const key = await files.addKey('ci-runner-1', 'ci');
    system = await System.start({ env: { POLICY_FILE: files.policy, KEYS_FILE: files.keys } });
    client = await McpTestClient.http(system.gateway.mcpUrl, { key });
  });
  afterAll(async () => {
    await client?.close();
    await system?.stop();
    files.dispose();
  });

  const audit = async (query: object) => {
    const reply = await system.probe.request<{ response?: AuditQueryResult; err?: unknown }>(QUERY_PATTERNS.queryAudit, query);
    if (!reply.response) throw new Error(`query-audit failed: ${JSON.stringify(reply.err)}`);
    return reply.response;
  };

  it('keeps allowed and denied calls with agent, grant, argument names (not values), rule, reason and sequence; the query app answers', async () => {
    const { session_id, seq } = await client.ok('record_session_start', { environment, project: 'secret-project' });
    await client.refused('record_test_outcome', { session_id, nodeid: 't.py::x', outcome: 'xpassed', duration: 1 });
    await client.refused('record_test_outcome', { session_id: 'nobody', nodeid: 't.py::y', outcome: 'passed', duration: 1 });

    const { records } = await eventually(
      async () => {
        const answer = await audit({ agent: 'ci-runner-1' });
        return answer.records.length === 3 ? answer : undefined;
      },
      10_000,
      'three audit records',
    );
    const [started, denied, failed] = records as [AuditRecord, AuditRecord, AuditRecord];
    expect(started).toMatchObject({
      agent: 'ci-runner-1',
      grant: 'ci',
      via: 'http',
      client: 'e2e-http/1.0.0',
      tool: 'record_session_start',
      arg_keys: ['environment', 'project'],
      decision: 'allowed',
      outcome: 'ok',
      seq,
      session_id,
    });
    expect(JSON.stringify(records)).not.toContain('secret-project');
    expect(started.latency_ms).toBeGreaterThan(0);
    expect(denied).toMatchObject({
      tool: 'record_test_outcome',
      arg_keys: ['session_id', 'nodeid', 'outcome', 'duration'],
      decision: 'denied',
      rule: 'tools.record_test_outcome.deny_if[0]',
      reason: 'xpassed outcomes go through CI',
    });
    expect(denied).not.toHaveProperty('seq');
    expect(failed).toMatchObject({ decision: 'allowed', outcome: 'error', error_code: 'SESSION_NOT_FOUND' });

    expect((await audit({ decision: 'denied' })).records).toMatchObject([{ rule: 'tools.record_test_outcome.deny_if[0]' }]);
    expect((await audit({ agent: 'someone-else' })).records).toEqual([]);
  });

  it('follows the audit stream live with `mcp-pytest audit tail --agent A --denied`', async () => {
    const tail = cliProcess(['audit', 'tail', '--agent', 'ci-runner-1', '--denied'], system.env);
    try {
      await tail.waitFor(/following PYTEST_AUDIT/);
      await client.ok('record_session_start', { environment });
      await client.refused('record_test_outcome', { nodeid: 't.py::z', outcome: 'xpassed', duration: 2 });
      await tail.waitFor(/denied\s+ci-runner-1 \(ci\)\s+record_test_outcome.*tools\.record_test_outcome\.deny_if\[0\].*xpassed outcomes go through CI/);
      expect(tail.logs).not.toMatch(/record_session_start/);
    } finally {
      await tail.stop('SIGINT');
    }
  });

  it('denies a call to a tool the server does not have, though the default is allow, and audits it as denied', async () => {
    expect(await client.refused('drop_all_sessions', { confirm: true })).toBe(
      '[POLICY_DENIED] drop_all_sessions: unknown tool; the tools you may call are ' +
        'record_session_start, record_test_outcome, record_test_outcomes, record_session_finish, get_session, ' +
        'list_sessions, get_session_tests, get_test_history, get_flaky_tests, get_failure_groups (rule: unknown_tool)',
    );
    const { records } = await eventually(
      async () => {
        const answer = await audit({ tool: 'drop_all_sessions' });
        return answer.records.length > 0 ? answer : undefined;
      },
      10_000,
      "the unknown tool's audit record",
    );
    expect(records).toEqual([expect.objectContaining({ tool: 'drop_all_sessions', arg_keys: ['confirm'], decision: 'denied', rule: 'unknown_tool' })]);
    expect(records[0]).not.toHaveProperty('outcome');
  });

  it('prints a tool name holding a line break and a terminal escape on one row of `audit tail`, escaped', async () => {
    const tail = cliProcess(['audit', 'tail', '--agent', 'ci-runner-1', '--denied'], system.env);
    try {
      await tail.waitFor(/following PYTEST_AUDIT/);
      const forged = 'x\n2026-01-01T00:00:00.000Z  allowed  admin (ops)  record_session_finish\u001b[31m';
      await client.refused(forged, {});
      await tail.waitFor(/rule=unknown_tool/);
      const rows = tail.logs.split('\n').filter((line) => line.includes('2026-01-01'));
      expect(rows).toEqual([
        expect.stringMatching(
          /Z {2}denied {3}ci-runner-1 \(ci\) {2}x\\n2026-01-01T00:00:00\.000Z {2}allowed {2}admin \(ops\) {2}record_session_finish\\u001b\[31m {2}rule=unknown_tool /,
        ),
      ]);
      expect(tail.logs).not.toContain('\u001b');
    } finally {
      await tail.stop('SIGINT');
    }
  });

  it('ends quietly with exit status 0 when the reader goes away: `mcp-pytest audit tail … | head -1`', async () => {
    // As a user types it: bash without pipefail; the tail's own exit status is reported on stderr.
    const script = '"$NODE" "$CLI" audit tail --agent ci-runner-1 --since 1h | head -1; echo "tail exited with ${PIPESTATUS[0]}" >&2';
    const pipeline = Proc.spawn('audit tail | head -1', 'bash', ['-c', script], {
      ...system.env,
      NODE: process.execPath,
      CLI: join(root, 'bin', 'mcp-pytest.mjs'),
    });
    try {
      await pipeline.waitFor(/Z {2}(allowed|denied) /);
      // Like any Unix command, the tail learns that head has gone at its next write: calls give it records to write.
      await eventually(
        async () => {
          if (!pipeline.running) return true;
          await client.ok('record_session_start', { environment });
          return false;
        },
        20_000,
        'the tail to end',
      );
      expect(await pipeline.finished()).toBe(0);
      expect(pipeline.logs).toMatch(/tail exited with 0\n$/);
      expect(pipeline.logs).not.toMatch(/EPIPE|Error|\n\s+at /);
    } finally {
      await pipeline.kill();
    }
  });
});
