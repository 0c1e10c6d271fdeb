import { describe, expect, it } from 'vitest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { JsonResponseTransport } from './json-response.transport.js';

const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const post = (transport: JsonResponseTransport, body: object, sessionId?: string) =>
  transport.handleRequest(
    new Request('http://127.0.0.1/mcp', {
      method: 'POST',
      headers: sessionId ? { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } : headers,
    }),
    { parsedBody: body },
  );

describe('JsonResponseTransport', () => {
  it('answers in JSON and keeps no bookkeeping for requests it has answered', async () => {
    const server = new McpServer({ name: 't', version: '1' });
    server.registerTool('echo', { inputSchema: z.object({ n: z.number() }) }, ({ n }) => ({ content: [{ type: 'text', text: String(n) }] }));
    const transport = new JsonResponseTransport({ sessionIdGenerator: () => 'session-1' });
    await server.connect(transport);
    const init = await post(transport, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'spec', version: '1' } },
    });
    expect(init.headers.get('content-type')).toBe('application/json');
    await post(transport, { jsonrpc: '2.0', method: 'notifications/initialized' }, 'session-1');
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const response = await post(transport, { jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'echo', arguments: { n: i } } }, 'session-1');
        return ((await response.json()) as { result: { content: [{ text: string }] } }).result.content[0].text;
      }),
    );
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    const internals = transport as unknown as { _streamMapping: Map<string, unknown> };
    expect(internals._streamMapping.size).toBe(0);
    await server.close();
  });
});
