import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/**
 * The reference MCP server of the benchmark: the MCP SDK's McpServer with one tool,
 * `record_test_outcome`, taking the seed's argument shape and doing nothing.
 */
export function bareMcpServer(): McpServer {
  const server = new McpServer({ name: 'bare-reference', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    'record_test_outcome',
    {
      description: 'Does nothing: the cost of the MCP layer alone.',
      inputSchema: {
        nodeid: z.string(),
        outcome: z.enum(['passed', 'failed', 'skipped', 'error', 'xfailed', 'xpassed']),
        duration: z.number(),
        error: z.string().optional(),
      },
    },
    async () => ({ content: [{ type: 'text', text: 'ok' }] }),
  );
  return server;
}
