import { afterAll, afterEach, beforeAll } from 'vitest';
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
  // A failure in CI is often explained by what the apps logged; their output is gone once the suite stops.
  afterEach(({ task }) => {
    if (task.result?.state === 'fail' && context.system) console.error(`logs of the apps, at "${task.name}":\n${context.system.logs(LOG_LINES)}`);
  });
  afterAll(async () => {
    await context.client?.close();
    await context.system?.stop();
  });
  return context;
}

/** Each app's last lines shown with a failed test. */
const LOG_LINES = 60;
