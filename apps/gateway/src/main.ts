import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv, runApp, setUpLogging } from '#platform';
import { GatewayModule } from './gateway.module.js';

/** The gateway serving MCP over Streamable HTTP. */
loadDotEnv();
setUpLogging();
await runApp('Gateway', () => NestFactory.createApplicationContext(GatewayModule.forTransport('http')));
