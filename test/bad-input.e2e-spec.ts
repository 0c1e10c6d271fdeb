import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Refusal, REFUSAL_META_KEY } from '#contracts';
import { McpTestClient, text } from './harness/mcp-client.js';
import { useSystem } from './harness/use-system.js';

const environment = { os: 'Linux', python_version: '3.13.1' };
const summary = { total_tests: 0, passed: 0, failed: 0, skipped: 0, exitstatus: 5 };
const outcome = { nodeid: 'tests/test_a.py::test_a', outcome: 'passed', duration: 0.1 };

const suite = useSystem();

/** Expects every call to be refused with a message matching its pattern and its code as data, and the stream to stay as it was. */
async function expectRefusedWithoutWrites(cases: Array<[string, Record<string, unknown>, RegExp]>) {
  const before = await suite.system.probe.eventCount();
  for (const [tool, args, message] of cases) {
    const what = `${tool} ${JSON.stringify(args).slice(0, 120)}`;
    const result = await suite.client.call(tool, args);
    const refusal = Refusal.parse(result._meta?.[REFUSAL_META_KEY]);
    expect(text(result), what).toMatch(message);
    expect(text(result), what).toBe(`[${refusal.code}] ${refusal.message}`);
  }
  expect(await suite.system.probe.eventCount()).toBe(before);
}

describe('bad input is refused with a clear error, and nothing is written', () => {
  it('refuses arguments that break the schema, naming the field and the rule', async () => {
    await suite.client.ok('record_session_start', { session_id: 'bad-input', environment });
    await expectRefusedWithoutWrites([
      ['record_session_start', {}, /environment/],
      ['record_session_start', { environment: { os: 'Linux' } }, /python_version/],
      ['record_session_start', { environment: 'Linux 3.13' }, /environment/],
      ['record_session_start', { environment, session_id: 'has spaces' }, /session_id: may contain only letters, digits, "_" and "-"/],
      ['record_session_start', { environment, session_id: 'x'.repeat(129) }, /session_id: must be at most 128 characters/],
      ['record_session_start', { environment, labels: { team: 7 } }, /labels\.team/],
      ['record_session_start', { environment, ci: { provider: 'gh', colour: 'red' } }, /Unrecognized key.*colour/],
      ['record_test_outcome', { ...outcome, outcome: 'flaky' }, /outcome: Invalid option/],
      ['record_test_outcome', { ...outcome, duration: -0.5 }, /duration: must be a non-negative number of seconds/],
      ['record_test_outcome', { ...outcome, duration: 'fast' }, /duration: must be a number of seconds/],
      ['record_test_outcome', { ...outcome, nodeid: '' }, /nodeid: must not be empty/],
      ['record_test_outcome', { ...outcome, nodeid: 'n'.repeat(5000) }, /nodeid: must be at most 4096 characters/],
      ['record_test_outcome', { outcome: 'passed', duration: 1 }, /nodeid: /],
      ['record_test_outcome', { ...outcome, when: 'during' }, /when: Invalid option/],
      ['record_test_outcome', { ...outcome, attempt: 0 }, /attempt: must be 1 or more/],
      ['record_test_outcome', { ...outcome, error: 42 }, /error: /],
      ['record_test_outcome', { ...outcome, sesion_id: 'bad-input' }, /Unrecognized key.*sesion_id/],
      ['record_session_finish', { summary: { ...summary, passed: -1 } }, /summary\.passed: must not be negative/],
      ['record_session_finish', { summary: { ...summary, exitstatus: 'ok' } }, /summary\.exitstatus: must be an integer exit status/],
      ['record_session_finish', {}, /summary: /],
      ['get_session', { session_id: 'a.b' }, /session_id: /],
    ]);
  });

  it('refuses what the session rules forbid', async () => {
    await suite.client.ok('record_session_start', { session_id: 'rules', environment });
    await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'rules' });
    await suite.client.ok('record_session_finish', { session_id: 'rules', summary });
    await suite.client.ok('record_session_start', { session_id: 'rules-running', environment });
    await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'rules-running' });
    await expectRefusedWithoutWrites([
      ['record_test_outcome', { ...outcome, session_id: 'never-started' }, /^\[SESSION_NOT_FOUND\] Your grant has no session "never-started"/],
      ['record_session_finish', { session_id: 'never-started', summary }, /^\[SESSION_NOT_FOUND\]/],
      ['record_session_start', { session_id: 'rules', environment: { ...environment, os: 'Darwin' } }, /^\[SESSION_ID_CONFLICT\]/],
      ['record_test_outcome', { ...outcome, session_id: 'rules', nodeid: 'tests/test_late.py::t' }, /^\[SESSION_FINISHED\]/],
      ['record_test_outcome', { ...outcome, session_id: 'rules', outcome: 'failed' }, /^\[SESSION_FINISHED\]/],
      ['record_test_outcome', { ...outcome, session_id: 'rules-running', outcome: 'failed' }, /^\[OUTCOME_CONFLICT\].*attempt: 2/],
      ['record_session_finish', { session_id: 'rules', summary: { ...summary, exitstatus: 0 } }, /^\[SESSION_ALREADY_FINISHED\]/],
      ['get_session', { session_id: 'never-started' }, /^\[SESSION_NOT_FOUND\] Grant "local" has no session "never-started"/],
    ]);
  });

  it('refuses calls without a session on a connection that started none', async () => {
    const fresh = await McpTestClient.http(suite.system.gateway.mcpUrl);
    try {
      const before = await suite.system.probe.eventCount();
      expect(await fresh.refused('record_test_outcome', outcome)).toMatch(/^\[NO_SESSION\] session_id is required/);
      expect(await fresh.refused('record_session_finish', { summary })).toMatch(/^\[NO_SESSION\]/);
      expect(await fresh.refused('get_session', {})).toMatch(/^\[NO_SESSION\]/);
      expect(await suite.system.probe.eventCount()).toBe(before);
    } finally {
      await fresh.close();
    }
  });

  it('answers malformed HTTP requests with JSON-RPC errors', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(suite.system.gateway.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body,
      });
    const notJson = await post('{"jsonrpc": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const noSession = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    expect(noSession.status).toBe(400);
    const unknownSession = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { 'mcp-session-id': 'nope' });
    expect(unknownSession.status).toBe(404);
    const tooLarge = await post(JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }));
    expect(tooLarge.status).toBe(413);
    expect((await fetch(new URL('/elsewhere', suite.system.gateway.mcpUrl))).status).toBe(404);
  });

  it('refuses a foreign Host (DNS rebinding) or Origin with 403, and accepts the local ones', async () => {
    const url = suite.system.gateway.mcpUrl;
    const statusWith = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
      });
    expect(await statusWith({ host: `attacker.example:${url.port}` })).toBe(403);
    expect(await statusWith({ origin: 'http://attacker.example' })).toBe(403);
    // Allowed: the request goes on to the MCP checks (no session: 400).
    expect(await statusWith({ host: `localhost:${url.port}`, origin: `http://localhost:${url.port}` })).toBe(400);
  });
});
