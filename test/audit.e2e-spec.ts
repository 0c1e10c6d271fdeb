import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_PATTERNS, type AuditQueryResult, type AuditRecord } from '#contracts';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles, cliProcess } from './harness/policy-files.js';
import { eventually } from './harness/processes.js';
import { System } from './harness/system.js';
import { environment } from './harness/fixtures.js';

const policy = {
  version: '1',
  default: 'allow',
  tools: {
    record_test_outcome: { deny_if: [{ path: 'args.outcome', op: 'eq', value: 'xpassed' }], on_deny: 'xpassed outcomes go through CI' },
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

    const { records } = await eventually(async () => {
      const answer = await audit({ agent: 'ci-runner-1' });
      return answer.records.length === 3 ? answer : undefined;
    }, 10_000, 'three audit records');
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
});
