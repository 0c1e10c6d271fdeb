import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distEntry } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { NatsServer } from './harness/nats-server.js';
import { PolicyFiles } from './harness/policy-files.js';
import { eventually, freePort, Proc } from './harness/processes.js';
import { System } from './harness/system.js';
import { environment } from './harness/fixtures.js';

const policy = {
  version: '1',
  default: 'deny',
  hide: ['record_session_finish'],
  tools: {
    record_session_start: {},
    get_session: {},
    record_test_outcome: { deny_if: [{ path: 'args.outcome', op: 'eq', value: 'xpassed' }], on_deny: 'xpassed outcomes go through CI' },
  },
  grants: { dashboards: { default: 'deny', tools: { get_session: {} } } },
};

describe('policy: allow, deny, hide, per grant', () => {
  const files = PolicyFiles.create(policy);
  let system: System;
  let ci: McpTestClient;
  let board: McpTestClient;

  beforeAll(async () => {
    const [ciKey, boardKey] = [await files.addKey('ci-runner-1', 'ci'), await files.addKey('board-1', 'dashboards')];
    system = await System.start({ env: { KEYS_FILE: files.keys, POLICY_FILE: files.policy } });
    [ci, board] = await Promise.all([McpTestClient.http(system.gateway.mcpUrl, { key: ciKey }), McpTestClient.http(system.gateway.mcpUrl, { key: boardKey })]);
  });
  afterAll(async () => {
    await Promise.all([ci?.close(), board?.close()]);
    await system?.stop();
    files.dispose();
  });

  it('lists each identity only what it may call, with read/write risk hints', async () => {
    expect(await ci.toolNames()).toEqual(['record_session_start', 'record_test_outcome', 'get_session']);
    const { tools } = await board.client.listTools();
    expect(tools.map((tool) => [tool.name, tool.annotations])).toEqual([
      ['get_session', { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }],
    ]);
    const start = (await ci.client.listTools()).tools.find((tool) => tool.name === 'record_session_start');
    expect(start?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
  });

  it("denies by the grant's default, before the arguments are even looked at, and nothing reaches the stream", async () => {
    const before = await system.probe.eventCount();
    expect(await board.refused('record_session_start', { environment })).toBe(
      '[POLICY_DENIED] record_session_start: record_session_start is not allowed for grant "dashboards" (not listed; default is deny) (rule: grants.dashboards.default)',
    );
    expect(await board.refused('record_session_start', { bogus: true })).toMatch(/^\[POLICY_DENIED\]/);
    expect(await system.probe.eventCount()).toBe(before);
  });

  it('denies a hidden tool', async () => {
    expect(await ci.refused('record_session_finish', { summary: {} })).toBe(
      '[POLICY_DENIED] record_session_finish: record_session_finish is hidden by policy (rule: hide)',
    );
  });

  it('denies by deny_if with its reason, and lets other arguments through', async () => {
    const { session_id } = await ci.ok('record_session_start', { environment });
    expect(await ci.refused('record_test_outcome', { nodeid: 't.py::x', outcome: 'xpassed', duration: 1 })).toBe(
      '[POLICY_DENIED] record_test_outcome: xpassed outcomes go through CI (rule: tools.record_test_outcome.deny_if[0])',
    );
    await ci.ok('record_test_outcome', { nodeid: 't.py::x', outcome: 'passed', duration: 1 });
    expect((await system.probe.results(session_id, 'ci')).map((r) => r.outcome)).toEqual(['passed']);
  });

  it('reloads a changed policy file without a restart; an invalid one is rejected and the old one stays', async () => {
    files.writePolicy({ ...policy, hide: [], tools: { ...policy.tools, record_session_finish: {} } });
    await eventually(async () => (await ci.toolNames()).includes('record_session_finish'), 10_000, 'the reloaded policy');
    await ci.ok('record_session_finish', { summary: { total_tests: 1, passed: 1, failed: 0, skipped: 0, exitstatus: 0 } });

    const logged = system.gateway.proc.logs.length;
    files.writePolicy('{\n  "version": "1",\n  "default": "allow",\n}\n');
    await system.gateway.proc.waitFor(/policy\.json: invalid JSON at line 4, column 1.*\n.*change rejected/, 10_000, logged);
    files.writePolicy({ version: '1', default: 'allow', tools: { record_everything: {} } });
    await system.gateway.proc.waitFor(/tools\.record_everything: unknown tool "record_everything"/, 10_000, logged);
    // Still the policy read before: the board may read, not write.
    expect(await board.toolNames()).toEqual(['get_session']);
    expect(await board.refused('record_session_start', { environment })).toMatch(/rule: grants\.dashboards\.default/);
  });
});

describe('policy: files that cannot be used', () => {
  it('stops start-up on an invalid policy file, naming the field', async () => {
    const files = PolicyFiles.create({ version: '1', tools: { get_session: { limits: [{ counter: 'c', window: 'week', max: 5 }] } } });
    const nats = await NatsServer.start();
    try {
      const gateway = Proc.spawn('gateway', process.execPath, [distEntry('apps/gateway/src/main.js')], {
        NATS_URL: nats.url,
        GATEWAY_PORT: String(await freePort()),
        POLICY_FILE: files.policy,
      });
      expect(await gateway.finished()).toBe(1);
      expect(gateway.logs).toMatch(/policy\.json: invalid:\n\s+tools\.get_session\.limits\[0\]\.window: /);
    } finally {
      await nats.dispose();
      files.dispose();
    }
  });
});

describe('policy: over stdio', () => {
  const files = PolicyFiles.create(policy);
  let system: System;
  beforeAll(async () => (system = await System.start({ gateways: 0 })));
  afterAll(async () => {
    await system?.stop();
    files.dispose();
  });

  it('applies to the configured local identity', async () => {
    const client = await McpTestClient.stdio({ ...system.env, POLICY_FILE: files.policy, GATEWAY_AGENT: 'laptop', GATEWAY_GRANT: 'dashboards' });
    try {
      expect(await client.toolNames()).toEqual(['get_session']);
      expect(await client.refused('record_session_start', { environment })).toMatch(/^\[POLICY_DENIED\] .*rule: grants\.dashboards\.default/);
    } finally {
      await client.close();
    }
  });
});
