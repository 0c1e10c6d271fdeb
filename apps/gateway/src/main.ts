import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv, runApp } from '#platform';
import { GatewayModule } from './gateway.module.js';

/** The gateway serving MCP over Streamable HTTP. */
loadDotEnv();
await runApp('Gateway', () => NestFactory.createApplicationContext(GatewayModule.forTransport('http')));
