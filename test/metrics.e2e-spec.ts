import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from './harness/apps.js';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { eventually } from './harness/processes.js';
import { sample } from './harness/prometheus.js';
import { System } from './harness/system.js';
import { useSystem } from './harness/use-system.js';

describe('GET /metrics on the gateway, the query app and the projector', () => {
  const files = PolicyFiles.create();
  let system: System;
  let opsKey: string;
  let ciKey: string;
  const scrape = (app: App, key?: string, init: RequestInit = {}) =>
    fetch(app.metricsUrl, { ...init, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
  const metricsOf = async (app: App) => {
    const answer = await scrape(app, opsKey);
    expect(answer.status, await answer.clone().text()).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return answer.text();
  };

  beforeAll(async () => {
    opsKey = await files.addKey('prometheus', 'ops');
    ciKey = await files.addKey('ci-runner-1', 'ci');
    system = await System.start({ env: { KEYS_FILE: files.keys, METRICS_GRANTS: 'ops' } });
  });
  afterAll(async () => {
    await system?.stop();
    files.dispose();
  });

  it('counts known calls by tool and result, with their stages, the reads by pattern and the events folded', async () => {
    const client = await McpTestClient.http(system.gateway.mcpUrl, { key: ciKey });
    try {
      const { session_id } = await client.ok('record_session_start', { environment });
      for (let i = 0; i < 3; i++) await client.ok('record_test_outcome', { nodeid: `t.py::test_${i}`, outcome: i ? 'passed' : 'failed', duration: 0.1 });
      expect((await client.call('record_test_outcome', { nodeid: 't.py::x', outcome: 'maybe', duration: 0 })).isError).toBe(true);
      await client.ok('get_session', { session_id });
      expect((await client.call('get_session', { session_id: 'no-such-session' })).isError).toBe(true);

      const gateway = await metricsOf(system.gateway);
      const calls = (tool: string, result: string) => sample(gateway, 'mcp_pytest_tool_calls_total', { app: 'gateway', tool, result });
      expect(calls('record_session_start', 'ok')).toBe(1);
      expect(calls('record_test_outcome', 'ok')).toBe(3);
      expect(calls('record_test_outcome', 'INVALID_ARGUMENTS')).toBe(1);
      expect(calls('get_session', 'ok')).toBe(1);
      expect(calls('get_session', 'SESSION_NOT_FOUND')).toBe(1);
      expect(sample(gateway, 'mcp_pytest_tool_call_duration_seconds_count', { tool: 'record_test_outcome' })).toBe(4);
      expect(sample(gateway, 'mcp_pytest_policy_decisions_total', { decision: 'allowed' })).toBe(7);
      // Every call was validated and audited, every one but the invalid one passed the policy stage and
      // was answered by the tool; the four writes were each published once; each POST's body was read.
      const stage = (name: string) => sample(gateway, 'mcp_pytest_call_stage_duration_seconds_count', { stage: name });
      expect(stage('validate')).toBe(7);
      expect(stage('audit')).toBe(7);
      expect(stage('policy')).toBe(6);
      expect(stage('handler')).toBe(6);
      expect(stage('send')).toBe(6);
      expect(stage('publish')).toBe(4);
      expect(stage('decide')).toBe(4);
      expect(stage('receive')).toBeGreaterThanOrEqual(7);
      expect(sample(gateway, 'mcp_pytest_mcp_sessions_open', { transport: 'http' })).toBe(1);
      expect(sample(gateway, 'process_resident_memory_bytes', { app: 'gateway' })).toBeGreaterThan(0);

      const query = await metricsOf(system.query);
      const reads = (result: string) => sample(query, 'mcp_pytest_query_duration_seconds_count', { app: 'query', pattern: 'get-session', result });
      expect(reads('ok')).toBe(1);
      expect(reads('SESSION_NOT_FOUND')).toBe(1);

      const projector = await eventually(
        async () => {
          const text = await metricsOf(system.projector);
          return sample(text, 'mcp_pytest_projector_events_folded_total') === 4 && text;
        },
        10_000,
        'the four events folded',
      );
      expect(sample(projector, 'mcp_pytest_events_stream_last_sequence', { app: 'projector' })).toBe(4);
      const consumers = projector.split('\n').filter((line) => line.startsWith('mcp_pytest_projector_pending_events{'));
      expect(consumers.length).toBeGreaterThanOrEqual(8);
      expect(consumers.every((line) => line.endsWith(' 0'))).toBe(true);
      expect(sample(projector, 'mcp_pytest_read_model_write_duration_seconds_count')).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it("answers only keys of the grants in METRICS_GRANTS: another grant's key, a missing one, a write are refused and see nothing", async () => {
    for (const app of [system.gateway, system.query, system.projector]) {
      const missing = await scrape(app);
      expect(missing.status, `${app.name} without a key`).toBe(401);
      const other = await scrape(app, ciKey);
      expect(other.status, `${app.name} with the ci grant's key`).toBe(403);
      const refusal = await other.text();
      expect(refusal).toMatch(/grant "ci" may not read metrics \(METRICS_GRANTS/);
      expect(refusal).not.toMatch(/mcp_pytest_|process_/);
      const wrong = await scrape(app, 'not-a-key');
      expect(wrong.status).toBe(401);
      const post = await scrape(app, opsKey, { method: 'POST' });
      expect(post.status, `${app.name}: POST`).toBe(405);
    }
  });
});

describe('GET /metrics without KEYS_FILE', () => {
  const suite = useSystem();
  /** A GET naming `host` in its Host header (fetch does not let a caller set it, a DNS-rebinding page's browser does). */
  const getWithHost = (url: URL, host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      request(url, { headers: { host } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
        .on('error', reject)
        .end();
    });

  it('answers loopback callers, and refuses a Host not naming this machine, showing it nothing', async () => {
    for (const app of [suite.system.gateway, suite.system.query, suite.system.projector]) {
      const local = await getWithHost(app.metricsUrl, app.metricsUrl.host);
      expect(local.status, app.name).toBe(200);
      expect(sample(local.body, 'process_resident_memory_bytes', { app: app.name })).toBeGreaterThan(0);
      const foreign = await getWithHost(app.metricsUrl, `rebound.example:${app.metricsUrl.port}`);
      expect(foreign.status, app.name).toBe(403);
      expect(foreign.body).not.toMatch(/mcp_pytest_|process_/);
    }
  });
});
