import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { System } from './harness/system.js';

const secretEnvironment = { os: 'Linux', python_version: '3.12.3', DEPLOY_TOKEN: 'hunter2-of-ci' };
const summary = { total_tests: 1, passed: 1, failed: 0, skipped: 0, exitstatus: 0 };
const outcome = { nodeid: 'tests/test_a.py::test_a', outcome: 'passed', duration: 0.1 };

describe('sessions belong to the grant that started them', () => {
  // ci and rogue are two teams' grants; dashboards may read every grant's sessions, and write none of them.
  const files = PolicyFiles.create({
    version: '1',
    default: 'allow',
    grants: { dashboards: { default: 'allow', sessions: { read: 'all' } } },
  });
  let system: System;
  let ci: McpTestClient;
  let rogue: McpTestClient;
  let board: McpTestClient;

  beforeAll(async () => {
    const [ciKey, rogueKey, boardKey] = [
      await files.addKey('runner-1', 'ci'),
      await files.addKey('intruder', 'rogue'),
      await files.addKey('board-1', 'dashboards'),
    ];
    system = await System.start({ env: { KEYS_FILE: files.keys, POLICY_FILE: files.policy } });
    const connect = (key: string) => McpTestClient.http(system.gateway.mcpUrl, { key });
    [ci, rogue, board] = await Promise.all([connect(ciKey), connect(rogueKey), connect(boardKey)]);
  });
  afterAll(async () => {
    await Promise.all([ci, rogue, board].map((client) => client?.close()));
    await system?.stop();
    files.dispose();
  });

  it("refuses another grant's outcome, finish and read of a session, writes nothing and reveals nothing", async () => {
    await ci.ok('record_session_start', { session_id: 'run-42', environment: secretEnvironment });
    const before = await system.probe.eventCount();
    for (const [tool, args] of [
      ['record_test_outcome', { ...outcome, outcome: 'failed', error: 'fake failure', session_id: 'run-42' }],
      ['record_session_finish', { summary, session_id: 'run-42' }],
      ['get_session', { session_id: 'run-42' }],
    ] as const) {
      const refusal = await rogue.refusal(tool, args);
      expect(refusal.code, tool).toBe('SESSION_NOT_FOUND');
      expect(refusal.message).not.toMatch(/hunter2|Linux/);
    }
    const named = await rogue.refusal('get_session', { session_id: 'run-42', owner: 'ci' });
    expect(named).toEqual({ code: 'SESSION_ACCESS_DENIED', message: expect.stringMatching(/"rogue" may not read sessions of grant "ci"/) });
    // Asking for a session that does not exist answers the same: a refusal tells nothing about existence.
    expect((await rogue.refusal('get_session', { session_id: 'no-such-run', owner: 'ci' })).code).toBe('SESSION_ACCESS_DENIED');
    expect(await system.probe.eventCount()).toBe(before);
    const view = await ci.ok('get_session', { session_id: 'run-42' });
    expect(view).toMatchObject({ owner: 'ci', status: 'running', counts: { total: 0 }, environment: secretEnvironment });
  });

  it('lets no grant squat on a session id another grant chooses', async () => {
    // rogue takes "run-77" first; ci's start with its own content still works, in ci's own session.
    await rogue.ok('record_session_start', { session_id: 'run-77', environment: { os: 'Evil', python_version: '0' } });
    const started = await ci.ok('record_session_start', { session_id: 'run-77', environment: secretEnvironment });
    expect(started).toMatchObject({ session_id: 'run-77', duplicate: false });
    await ci.ok('record_test_outcome', { ...outcome, session_id: 'run-77' });
    await ci.ok('record_session_finish', { summary, session_id: 'run-77' });
    expect(await ci.ok('get_session', { session_id: 'run-77' })).toMatchObject({
      owner: 'ci',
      status: 'finished',
      environment: secretEnvironment,
      counts: { passed: 1, total: 1 },
    });
    // …and rogue's own "run-77" is untouched by any of it.
    expect(await rogue.ok('get_session', { session_id: 'run-77' })).toMatchObject({ owner: 'rogue', status: 'running', counts: { total: 0 } });
    expect(await system.probe.events('run-77', 'ci')).toHaveLength(3);
    expect(await system.probe.events('run-77', 'rogue')).toHaveLength(1);
  });

  it("lets a grant with sessions.read all read every grant's sessions, by owner, and write none of them", async () => {
    const view = await board.ok('get_session', { session_id: 'run-42', owner: 'ci' });
    expect(view).toMatchObject({ session_id: 'run-42', owner: 'ci' });
    expect((await board.refusal('get_session', { session_id: 'run-42' })).code).toBe('SESSION_NOT_FOUND');
    const before = await system.probe.eventCount();
    expect((await board.refusal('record_test_outcome', { ...outcome, session_id: 'run-42' })).code).toBe('SESSION_NOT_FOUND');
    expect(await system.probe.eventCount()).toBe(before);
    // Naming another owner without a session id never reads that owner's session of this connection's last start.
    await board.ok('record_session_start', { session_id: 'run-42', environment: { os: 'Linux', python_version: '3.12' } });
    expect((await board.refusal('get_session', { owner: 'ci' })).code).toBe('NO_SESSION');
  });

  it('keeps the session a connection started to its own grant when session_id is left out', async () => {
    const { session_id } = await rogue.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.12' } });
    await rogue.ok('record_test_outcome', outcome);
    expect((await ci.refusal('get_session', { session_id })).code).toBe('SESSION_NOT_FOUND');
    expect(await rogue.ok('get_session', {})).toMatchObject({ session_id, owner: 'rogue', counts: { total: 1 } });
  });
});

describe('one identity without a keys file', () => {
  let system: System;
  let client: McpTestClient;

  beforeAll(async () => {
    system = await System.start();
    client = await McpTestClient.http(system.gateway.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await system?.stop();
  });

  it('lets every local caller read and write the same sessions, owned by the local grant', async () => {
    await client.ok('record_session_start', { session_id: 'local-1', environment: secretEnvironment });
    const other = await McpTestClient.http(system.gateway.mcpUrl, { name: 'second-local-client' });
    try {
      await other.ok('record_test_outcome', { ...outcome, session_id: 'local-1' });
      expect(await other.ok('get_session', { session_id: 'local-1' })).toMatchObject({ owner: 'local', counts: { total: 1 } });
    } finally {
      await other.close();
    }
  });
});
