// Reference for the HTTP ingest benchmark: a bare MCP SDK server on the SDK's standard Node path,
// as in its examples (simpleStreamableHttp / jsonResponseStreamableHttp): createMcpExpressApp()
// (Express + express.json() + host-header validation) and a stateful StreamableHTTPServerTransport
// plus McpServer per MCP session, kept in a map by Mcp-Session-Id. Its one tool does nothing.
//
// Env: BARE_PORT (0: any), BARE_JSON_RESPONSE=1 for enableJsonResponse (default: SSE answers, the
// SDK's default). Prints "bare MCP server at <url>" when listening.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { bareMcpServer } from './bare-tool.js';

type Req = IncomingMessage & { body?: unknown };
type Res = ServerResponse & { status(code: number): Res; json(body: unknown): void };

const json = process.env.BARE_JSON_RESPONSE === '1';
const transports = new Map<string, StreamableHTTPServerTransport>();
const app = createMcpExpressApp();

const rpcError = (res: Res, status: number, code: number, message: string) => res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });

app.post('/mcp', async (req: Req, res: Res) => {
  try {
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (!transport && !sessionId && isInitializeRequest(req.body)) {
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: json,
        onsessioninitialized: (id) => void transports.set(id, created),
      });
      created.onclose = () => {
        if (created.sessionId) transports.delete(created.sessionId);
      };
      await bareMcpServer().connect(created);
      transport = created;
    } else if (!transport) {
      return sessionId ? rpcError(res, 404, -32001, 'Session not found') : rpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
    }
    await transport.handleRequest(req, res, req.body);
  } catch (error) {
    console.error('Error handling MCP request:', error);
    if (!res.headersSent) rpcError(res, 500, -32603, 'Internal server error');
  }
});

const sessionRequest = async (req: Req, res: Res) => {
  const sessionId = req.headers['mcp-session-id'];
  const transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
  if (!transport) return rpcError(res, 400, -32000, 'Invalid or missing session ID');
  await transport.handleRequest(req, res);
};
app.get('/mcp', sessionRequest);
app.delete('/mcp', sessionRequest);

const server = app.listen(Number(process.env.BARE_PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`bare MCP server at http://127.0.0.1:${port}/mcp (${json ? 'JSON' : 'SSE'} answers)`);
});

const shutdown = () => {
  for (const transport of transports.values()) void transport.close();
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
