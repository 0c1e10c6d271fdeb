import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { localIdentity } from '#auth';
import type { GatewayEnv } from '../gateway.env.js';
import { buildMcpServer } from '../mcp/build-mcp-server.js';
import { McpConnection } from '../mcp/mcp-connection.js';
import { TOOL_DEPS } from '../mcp/tool-deps.provider.js';
import type { ToolDeps } from '../mcp/tools/tool.js';
import { PolicyGate } from '../policy/policy-gate.js';
import { CorkedStdioServerTransport } from './corked-stdio.transport.js';

/** MCP over this process's stdin/stdout: one connection, whose end ends the process. */
@Injectable()
export class McpStdioServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server?: McpServer;
  private ended!: () => void;
  /** Resolves when the client closes stdin. */
  readonly closed = new Promise<void>((resolve) => (this.ended = resolve));

  constructor(
    private readonly config: ConfigService<GatewayEnv, true>,
    @Inject(TOOL_DEPS) private readonly deps: ToolDeps,
    private readonly gate: PolicyGate,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const connection = new McpConnection(localIdentity(this.config), 'stdio');
    this.server = buildMcpServer(connection, this.deps);
    const transport = this.gate.guard(new CorkedStdioServerTransport(), connection);
    transport.onclose = () => this.ended();
    process.stdin.once('end', () => this.ended());
    await this.server.connect(transport);
    new Logger('McpStdio').log(`MCP on stdio as agent "${connection.identity.agent}" (grant "${connection.identity.grant}")`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}
