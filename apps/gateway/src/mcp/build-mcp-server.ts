import { Logger } from '@nestjs/common';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SERVER_INFO, TOOLS, type ToolName } from '#contracts';
import { DomainError } from '#domain';
import { McpConnection } from './mcp-connection.js';
import { registerTriagePrompt } from './prompts/triage-session.prompt.js';
import { refusalResult, Refused } from './refusal-result.js';
import { registerSessionResource } from './resources/session.resource.js';
import { getSession } from './tools/get-session.tool.js';
import { getFailureGroups, getFlakyTests, getSessionTests, getTestHistory, listSessions } from './tools/read-tools.js';
import { recordSessionFinish } from './tools/record-session-finish.tool.js';
import { recordSessionStart } from './tools/record-session-start.tool.js';
import { recordTestOutcome } from './tools/record-test-outcome.tool.js';
import { recordTestOutcomes } from './tools/record-test-outcomes.tool.js';
import type { ToolDeps, ToolHandler } from './tools/tool.js';

const HANDLERS: { [N in ToolName]: ToolHandler<N> } = {
  record_session_start: recordSessionStart,
  record_test_outcome: recordTestOutcome,
  record_test_outcomes: recordTestOutcomes,
  record_session_finish: recordSessionFinish,
  get_session: getSession,
  list_sessions: listSessions,
  get_session_tests: getSessionTests,
  get_test_history: getTestHistory,
  get_flaky_tests: getFlakyTests,
  get_failure_groups: getFailureGroups,
};

const log = new Logger('McpTools');

/** An MCP server for one connection, with every tool of the contracts, the session resource and the triage prompt; the caller attaches a transport. */
export function buildMcpServer(connection: McpConnection, deps: ToolDeps): McpServer {
  const server = new McpServer(
    { name: SERVER_INFO.name, version: SERVER_INFO.version },
    { instructions: SERVER_INFO.instructions, capabilities: { tools: {}, resources: { subscribe: true }, prompts: {} } },
  );
  for (const name of Object.keys(TOOLS) as ToolName[]) register(server, name, connection, deps);
  registerSessionResource(server, connection, deps);
  registerTriagePrompt(server, connection, deps);
  server.server.oninitialized = () => connection.identifyClient(server.server.getClientVersion());
  return server;
}

function register<N extends ToolName>(server: McpServer, name: N, connection: McpConnection, deps: ToolDeps): void {
  const tool = TOOLS[name];
  const handler = HANDLERS[name] as ToolHandler<ToolName>;
  server.registerTool(
    name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      outputSchema: tool.output,
      annotations: tool.annotations,
    },
    async (args: unknown): Promise<CallToolResult> => {
      try {
        const output = await handler(args as never, connection, deps);
        return { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: output };
      } catch (error) {
        return toolError(name, error);
      }
    },
  );
}

/** A refused or failed call: an isError result carrying its stable code. */
function toolError(tool: ToolName, error: unknown): CallToolResult {
  if (error instanceof DomainError || error instanceof Refused) return refusalResult({ code: error.code, message: error.message });
  log.error(`${tool} failed`, error instanceof Error ? error.stack : String(error));
  return refusalResult({ code: 'INTERNAL', message: `${tool} failed: ${String(error)}` });
}
