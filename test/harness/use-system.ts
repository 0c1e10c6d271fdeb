import { afterAll, beforeAll } from 'vitest';
import { McpTestClient } from './mcp-client.js';
import { System } from './system.js';

export interface SuiteContext {
  system: System;
  /** An MCP client over Streamable HTTP to the first gateway. */
  client: McpTestClient;
}

/** Starts a system (and an HTTP MCP client) before the suite's tests and stops it after them. */
export function useSystem(options: Parameters<typeof System.start>[0] = {}): SuiteContext {
  const context = {} as SuiteContext;
  beforeAll(async () => {
    context.system = await System.start(options);
    context.client = await McpTestClient.http(context.system.gateway.mcpUrl);
  });
  afterAll(async () => {
    await context.client?.close();
    await context.system?.stop();
  });
  return context;
}
