import { Module } from '@nestjs/common';
import { McpModule } from '../mcp/mcp.module.js';
import { PolicyModule } from '../policy/policy.module.js';
import { McpStdioServer } from './mcp-stdio.server.js';

/** MCP over this process's stdin/stdout, as the local identity. */
@Module({
  imports: [McpModule, PolicyModule],
  providers: [McpStdioServer],
})
export class StdioModule {}
