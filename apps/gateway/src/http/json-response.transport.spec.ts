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

  it('answers a request that asks for progress as an SSE stream carrying the progress, and the next one in JSON again', async () => {
    const server = new McpServer({ name: 't', version: '1' });
    server.registerTool('slow', { inputSchema: z.object({}) }, async (_args, extra) => {
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined)
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, message: 'half way' } });
      return { content: [{ type: 'text', text: 'done' }] };
    });
    const transport = new JsonResponseTransport({ sessionIdGenerator: () => 'session-2' });
    await server.connect(transport);
    await post(transport, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'spec', version: '1' } },
    });
    await post(transport, { jsonrpc: '2.0', method: 'notifications/initialized' }, 'session-2');
    const call = { jsonrpc: '2.0', method: 'tools/call', params: { name: 'slow', arguments: {} } };
    const streamed = await post(transport, { ...call, id: 1, params: { ...call.params, _meta: { progressToken: 'p-1' } } }, 'session-2');
    expect(streamed.headers.get('content-type')).toBe('text/event-stream');
    const events = (await streamed.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)));
    expect(events).toMatchObject([
      { method: 'notifications/progress', params: { progressToken: 'p-1', message: 'half way' } },
      { id: 1, result: { content: [{ text: 'done' }] } },
    ]);
    const plain = await post(transport, { ...call, id: 2 }, 'session-2');
    expect(plain.headers.get('content-type')).toBe('application/json');
    expect(await plain.json()).toMatchObject({ id: 2, result: { content: [{ text: 'done' }] } });
    await server.close();
  });
});
