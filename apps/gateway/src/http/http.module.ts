import { Module } from '@nestjs/common';
import { KeyRingModule } from '#auth';
import { McpModule } from '../mcp/mcp.module.js';
import { PolicyModule } from '../policy/policy.module.js';
import { McpHttpServer } from './mcp-http.server.js';

/** MCP over Streamable HTTP, for callers authenticated by bearer key. */
@Module({
  imports: [McpModule, PolicyModule, KeyRingModule],
  providers: [McpHttpServer],
})
export class HttpModule {}
