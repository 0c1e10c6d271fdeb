import { Module } from '@nestjs/common';
import { PolicySourceModule } from '#auth';
import { ReadModule } from '../read/read.module.js';
import { WriteModule } from '../write/write.module.js';
import { TOOL_DEPS, toolDepsProvider } from './tool-deps.provider.js';

/** What the MCP tools, resources and prompts use (TOOL_DEPS); each transport builds its McpServers with it. */
@Module({
  imports: [WriteModule, ReadModule, PolicySourceModule],
  providers: [toolDepsProvider],
  exports: [TOOL_DEPS],
})
export class McpModule {}
