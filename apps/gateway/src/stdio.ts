import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv, runApp, StderrLogger } from '#platform';
import { GatewayModule } from './gateway.module.js';
import { McpStdioServer } from './stdio/mcp-stdio.server.js';

/** The gateway serving MCP over stdin/stdout: stdout carries MCP only, logs go to stderr. */
loadDotEnv();
const app = await runApp('Gateway', () =>
  NestFactory.createApplicationContext(GatewayModule.forTransport('stdio'), { logger: new StderrLogger() }),
);
await app.get(McpStdioServer).closed;
await app.close();
