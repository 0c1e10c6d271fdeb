import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { QUERY_QUEUE } from '#contracts';
import { natsAuth, natsServers } from '#nats';
import { loadDotEnv, parseEnv, PlainRequestDeserializer, runApp, setUpLogging } from '#platform';
import { QueryEnv } from './query.env.js';
import { QueryModule } from './query.module.js';
import { QueryNatsServer } from './query-nats.server.js';

/**
 * The query app: answers the read message patterns over NATS request/reply, one queue group for all
 * replicas, and serves the dashboard and the HTTP API (QueryHttpServer, started with the app).
 */
loadDotEnv();
setUpLogging();
const env = parseEnv(QueryEnv, process.env);
await runApp('Query', async () => {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(QueryModule, {
    strategy: new QueryNatsServer({
      servers: natsServers(env.NATS_URL),
      name: 'mcp-pytest-query-rpc',
      queue: QUERY_QUEUE,
      deserializer: new PlainRequestDeserializer(),
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      noAsyncTraces: true,
      ...natsAuth((name) => env[name]),
    }),
  });
  await app.listen();
  return app;
});
