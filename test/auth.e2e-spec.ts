import { renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distEntry } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { NatsServer } from './harness/nats-server.js';
import { PolicyFiles } from './harness/policy-files.js';
import { eventually, freePort, Proc } from './harness/processes.js';
import { System } from './harness/system.js';
import { environment } from './harness/fixtures.js';

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const post = (url: URL, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(initialize),
  });

describe('identities: bearer keys over Streamable HTTP', () => {
  const files = PolicyFiles.create();
  let system: System;
  let ciKey: string;

  beforeAll(async () => {
    ciKey = await files.addKey('ci-runner-1', 'ci');
    await files.addKey('board-1', 'dashboards');
    system = await System.start({ env: { KEYS_FILE: files.keys } });
  });
  afterAll(async () => {
    await system?.stop();
    files.dispose();
  });

  it('answers 401 with a JSON body naming the problem when the key is missing or wrong, and writes nothing', async () => {
    const missing = await post(system.gateway.mcpUrl);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/missing bearer key/);
    const wrong = await post(system.gateway.mcpUrl, { authorization: `Bearer ${ciKey}x` });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toMatch(/unknown or revoked key/);
    await expect(McpTestClient.http(system.gateway.mcpUrl)).rejects.toThrow(/401|Unauthorized/);
    expect(await system.probe.eventCount()).toBe(0);
  });

  it('answers 403 to a foreign Origin, even with a good key', async () => {
    const foreign = await post(system.gateway.mcpUrl, { authorization: `Bearer ${ciKey}`, origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toMatch(/Origin "http:\/\/evil.example" is not allowed/);
  });

  it("writes the key's agent and grant into every event's actor", async () => {
    const client = await McpTestClient.http(system.gateway.mcpUrl, { key: ciKey });
    const { session_id } = await client.ok('record_session_start', { environment });
    await client.ok('record_test_outcome', { nodeid: 't.py::a', outcome: 'passed', duration: 0.1 });
    const events = await system.probe.events(session_id, 'ci');
    expect(events.map(({ event }) => event.actor)).toEqual([
      { agent: 'ci-runner-1', grant: 'ci', via: 'http', client: 'e2e-http/1.0.0' },
      { agent: 'ci-runner-1', grant: 'ci', via: 'http', client: 'e2e-http/1.0.0' },
    ]);
    await client.close();
  });

  it('refuses every key while the keys file is removed', async () => {
    const key = await files.addKey('ci-runner-2', 'ci');
    const saved = `${files.keys}.saved`;
    const accepted = async () => (await post(system.gateway.mcpUrl, { authorization: `Bearer ${key}` })).status === 200;
    await eventually(accepted, 10_000, 'the new key');
    renameSync(files.keys, saved);
    await eventually(async () => !(await accepted()), 10_000, 'the keys file removal');
    renameSync(saved, files.keys);
    await eventually(accepted, 10_000, 'the keys file back');
  });

  it('stops accepting a revoked key without a restart', async () => {
    const client = await McpTestClient.http(system.gateway.mcpUrl, { key: ciKey });
    await client.ok('record_session_start', { environment });
    await files.revoke('ci-runner-1');
    await eventually(async () => (await post(system.gateway.mcpUrl, { authorization: `Bearer ${ciKey}` })).status === 401, 10_000, 'the revocation');
    await expect(client.call('record_session_start', { environment })).rejects.toThrow(/401|Unauthorized/);
  });
});

describe('identities: MCP sessions per agent', () => {
  const files = PolicyFiles.create();
  let system: System;
  let busyKey: string;
  let quietKey: string;
  beforeAll(async () => {
    [busyKey, quietKey] = [await files.addKey('busy', 'ci'), await files.addKey('quiet', 'ci')];
    system = await System.start({ env: { KEYS_FILE: files.keys, MCP_MAX_SESSIONS_PER_AGENT: '2' } });
  });
  afterAll(async () => {
    await system?.stop();
    files.dispose();
  });

  it("closes an agent's own oldest session beyond its cap, and leaves other agents' sessions open", async () => {
    const quiet = await McpTestClient.http(system.gateway.mcpUrl, { key: quietKey });
    const [first, second, third] = [
      await McpTestClient.http(system.gateway.mcpUrl, { key: busyKey }),
      await McpTestClient.http(system.gateway.mcpUrl, { key: busyKey }),
      await McpTestClient.http(system.gateway.mcpUrl, { key: busyKey }),
    ];
    await expect(first.call('record_session_start', { environment })).rejects.toThrow(/404|Session not found/);
    await second.ok('record_session_start', { environment });
    await third.ok('record_session_start', { environment });
    await quiet.ok('record_session_start', { environment });
    await Promise.all([quiet, second, third].map((client) => client.close()));
  });
});

describe('identities: without a keys file', () => {
  it('refuses to listen beyond loopback, and says why', async () => {
    const nats = await NatsServer.start();
    try {
      const gateway = Proc.spawn('gateway', process.execPath, [distEntry('apps/gateway/src/main.js')], {
        NATS_URL: nats.url,
        GATEWAY_HOST: '0.0.0.0',
        GATEWAY_PORT: String(await freePort()),
      });
      expect(await gateway.finished()).toBe(1);
      expect(gateway.logs).toMatch(/GATEWAY_HOST=0\.0\.0\.0 is reachable from other machines, and there is no KEYS_FILE/);
    } finally {
      await nats.dispose();
    }
  });
});
