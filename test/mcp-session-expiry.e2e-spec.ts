import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environment } from './harness/fixtures.js';
import { sleep } from './harness/processes.js';
import { mcpHeaders, openRawSession } from './harness/raw-http.js';
import { System } from './harness/system.js';

/** A tools/call on an MCP session, by hand: its HTTP status and JSON-RPC answer. */
async function callTool(
  url: URL,
  sessionId: string,
  name: string,
  args: object,
): Promise<{ status: number; body: { result?: unknown; error?: { code: number; message: string } } }> {
  const answer = await fetch(url, {
    method: 'POST',
    headers: mcpHeaders(undefined, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }),
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args } }),
  });
  return { status: answer.status, body: (await answer.json()) as never };
}

/** Idle MCP sessions expire on the gateway that opened them; an id no gateway holds answers the spec's 404, so clients initialize again, on any gateway. */
describe('MCP sessions across gateways and after idling', () => {
  let system: System;

  // 0.02 minutes: a session unused for 1.2 s is closed, as one unused for MCP_SESSION_IDLE_MINUTES would be.
  beforeAll(async () => (system = await System.start({ gateways: 2, env: { MCP_SESSION_IDLE_MINUTES: '0.02' } })));
  afterAll(async () => await system?.stop());

  it('answers 404 for a session another gateway opened, and for an idle one; a new session then goes on with the same pytest session', async () => {
    const [first, second] = system.gateways.map((gateway) => gateway.mcpUrl) as [URL, URL];
    const opened = await openRawSession(first);
    expect((await callTool(first, opened, 'record_session_start', { session_id: 'across-1', environment })).status).toBe(200);

    const elsewhere = await callTool(second, opened, 'get_session', { session_id: 'across-1' });
    expect(elsewhere).toEqual({ status: 404, body: { jsonrpc: '2.0', id: null, error: { code: -32001, message: `Session not found: ${opened}` } } });

    // Unused for twice the idle time (each call would count as use): closed by the sweep that runs every idle time.
    await sleep(3000);
    expect((await callTool(first, opened, 'get_session', { session_id: 'across-1' })).status).toBe(404);

    // As a client does on 404: initialize again (here on the other gateway) and name the pytest session.
    const reopened = await openRawSession(second);
    const outcome = await callTool(second, reopened, 'record_test_outcome', {
      session_id: 'across-1',
      nodeid: 't.py::test_a',
      outcome: 'passed',
      duration: 0.1,
    });
    expect(outcome.status).toBe(200);
    expect(outcome.body.result).toMatchObject({ structuredContent: { session_id: 'across-1', duplicate: false } });
  });
});
