import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { EVENTS_STREAM, SESSION_PROJECTOR_DURABLE } from '#contracts';
import { connectNats, deleteProjectorConsumer, deleteSessionsBucket } from '#nats';
import { parseEnv, runApp } from '#platform';
import { ProjectorEnv } from './projector.env.js';
import { ProjectorModule } from './projector.module.js';

/**
 * Rebuilds the read models: drops the session views and the projector's consumer, replays the
 * whole stream into a fresh bucket, and exits once every event stored before it began is folded.
 */
const log = new Logger('Rebuild');
const env = parseEnv(ProjectorEnv, process.env);
const nc = await connectNats({ url: env.NATS_URL, name: 'mcp-pytest-rebuild', log: (m) => log.log(m) });
const jsm = await jetstreamManager(nc);
const lastSeq = await lastEventSeq(jsm);
await deleteProjectorConsumer(jsm);
await deleteSessionsBucket(jsm);
log.log(`dropped the session views; replaying ${EVENTS_STREAM} up to sequence ${lastSeq}`);

const started = performance.now();
const app = await runApp('Projector', () => NestFactory.createApplicationContext(ProjectorModule));
while ((await jsm.consumers.info(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE)).ack_floor.stream_seq < lastSeq) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const seconds = (performance.now() - started) / 1000;
log.log(`rebuilt the session views from ${lastSeq} stream sequences in ${seconds.toFixed(1)} s`);
await app.close();
await nc.close();

async function lastEventSeq(manager: JetStreamManager): Promise<number> {
  try {
    return (await manager.streams.info(EVENTS_STREAM)).state.last_seq;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10059) return 0;
    throw error;
  }
}
