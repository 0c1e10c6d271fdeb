import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpTestClient, text } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { eventually, sleep } from './harness/processes.js';
import { System } from './harness/system.js';
import { environment, emptySummary as summary } from './harness/fixtures.js';

const policy = {
  version: '1',
  default: 'allow',
  tools: {
    record_session_start: { limits: [{ counter: 'record_session_start_rate', window: 'minute', max: 30, scope: 'grant' }] },
    record_session_finish: { limits: [{ counter: 'finishes', window: 'minute', max: 1, scope: 'agent' }] },
  },
};

/** A minute-window test must not straddle two windows: start it with at least 20 s of the minute left. */
async function awayFromMinuteEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 20_000) await sleep(left + 100);
}

describe('limits: counted in NATS, exact across gateways', () => {
  const files = PolicyFiles.create(policy);
  let system: System;
  const keys: string[] = [];

  beforeAll(async () => {
    for (const agent of ['ci-runner-1', 'ci-runner-2', 'ci-runner-3', 'ci-runner-4']) keys.push(await files.addKey(agent, 'ci'));
    keys.push(await files.addKey('ci-runner-5', 'ci-other'));
    system = await System.start({ gateways: 2, env: { KEYS_FILE: files.keys, POLICY_FILE: files.policy } });
  });
  afterAll(async () => {
    await system?.stop();
    files.dispose();
  });

  it('lets exactly 30 of 100 concurrent starts through two gateways, and the rest learn when the window resets', async () => {
    const clients = await Promise.all(keys.slice(0, 4).flatMap((key) => system.gateways.map((gateway) => McpTestClient.http(gateway.mcpUrl, { key }))));
    await awayFromMinuteEdge();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => clients[i % clients.length]!.call('record_session_start', { environment })));
    const accepted = results.filter((result) => !result.isError);
    const refused = results.filter((result) => result.isError).map((result) => text(result).replace(/\(in \d+s\)/, '(in Ns)'));
    expect(accepted).toHaveLength(30);
    expect(new Set(refused)).toHaveLength(1);
    expect(refused[0]).toMatch(
      /^\[POLICY_DENIED\] record_session_start: limit "record_session_start_rate" reached \(30 per minute per grant "ci"\); resets at \d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z \(in Ns\) \(rule: tools\.record_session_start\.limits\[0\]\)$/,
    );
    expect(await system.probe.eventCount()).toBe(30);

    // Another grant has its own count.
    const other = await McpTestClient.http(system.gateway.mcpUrl, { key: keys[4] });
    await other.ok('record_session_start', { environment });

    // A reload leaves the counts as they are.
    files.writePolicy({ ...policy, tools: { ...policy.tools, get_session: { deny_if: [{ path: 'args.session_id', op: 'eq', value: 'x' }] } } });
    await system.gateways[1]!.proc.waitFor(/reloaded .*policy\.json/, 10_000);
    await system.gateway.proc.waitFor(/reloaded .*policy\.json/, 10_000);
    expect(await clients[0]!.refused('record_session_start', { environment })).toMatch(/limit "record_session_start_rate" reached/);
    await Promise.all([...clients, other].map((client) => client.close()));
  });

  it('gives a quota back when the call it was taken for fails', async () => {
    const client = await McpTestClient.http(system.gateways[1]!.mcpUrl, { key: keys[4] });
    await awayFromMinuteEdge();
    // Invalid input, then a refused write: neither uses up the one finish a minute.
    expect(await client.refused('record_session_finish', { summary: { total_tests: 'many' } })).toMatch(/total_tests/);
    expect(await client.refused('record_session_finish', { session_id: 'no-such-session', summary })).toMatch(/^\[SESSION_NOT_FOUND\]/);
    const { session_id } = await client.ok('record_session_start', { environment, session_id: 'limited-1' });
    await client.ok('record_session_finish', { session_id, summary });
    await client.ok('record_session_start', { environment, session_id: 'limited-2' });
    expect(await client.refused('record_session_finish', { session_id: 'limited-2', summary })).toMatch(
      /^\[POLICY_DENIED\] record_session_finish: limit "finishes" reached \(1 per minute per agent "ci-runner-5"\)/,
    );
    await eventually(async () => (await system.probe.events('limited-2', 'ci-other')).length === 1);
    await client.close();
  });
});
