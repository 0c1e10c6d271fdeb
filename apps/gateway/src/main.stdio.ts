import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv, runApp, setUpLogging } from '#platform';
import { GatewayModule } from './gateway.module.js';
import { McpStdioServer } from './stdio/mcp-stdio.server.js';

/** The gateway serving MCP over stdin/stdout: stdout carries MCP only, logs go to stderr. */
loadDotEnv();
setUpLogging(process.stderr);
const app = await runApp('Gateway', () => NestFactory.createApplicationContext(GatewayModule.forTransport('stdio')));
await app.get(McpStdioServer).closed;
await app.close();
