import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import { EVENTS_STREAM, readModelGroup } from '#contracts';
import { connectNats, natsAuth, deleteProjectorConsumers, isNotFound, purgeSessionViews } from '#nats';
import { loadDotEnv, parseEnv, setUpLogging, runApp } from '#platform';
import { openReadModelStore } from '#read-models';
import { ProjectorEnv } from './projector.env.js';
import { RebuildModule } from './rebuild.module.js';
import { StreamRebuild } from './stream-rebuild.js';

/**
 * Rebuilds the read models of one read-model group (READ_MODEL_GROUP): drops its session views, its
 * SQL read models and its projector consumers, folds every event stored before it began into fresh
 * ones (StreamRebuild), creates the consumers again after those events, and exits. Other groups
 * are not touched.
 */
loadDotEnv();
setUpLogging();
const log = new Logger('Rebuild');
const env = parseEnv(ProjectorEnv, process.env);
const group = readModelGroup(env.READ_MODEL_GROUP);
const nc = await connectNats({ url: env.NATS_URL, name: 'mcp-pytest-rebuild', log: (m) => log.log(m), auth: natsAuth((name) => env[name]) });
const running = await runningProjector();
if (running) {
  log.fatal(`a projector is running (${running}): stop it first — it keeps views in memory that the rebuild would not replace`);
  await nc.close();
  process.exit(1);
}
const jsm = await jetstreamManager(nc);
const lastSeq = await lastEventSeq(jsm);
await deleteProjectorConsumers(jsm, group);
const purged = await purgeSessionViews(nc, group);
const readModels = await openReadModelStore(env.READ_MODEL_URL);
await readModels.reset();
await readModels.close();
const ofGroup = group.name ? ` of read-model group ${group.name}` : '';
log.log(`dropped the ${purged} session views${ofGroup} and the read models in ${readModels.location}; replaying ${EVENTS_STREAM} up to sequence ${lastSeq}`);

const started = performance.now();
const app = await runApp('Rebuild', () => NestFactory.createApplicationContext(RebuildModule));
let events: number;
try {
  events = await app.get(StreamRebuild).run(lastSeq);
} catch (error) {
  // What was folded stays consistent (a projector would fold the rest); running the rebuild again starts afresh.
  log.fatal(`the rebuild stopped: ${(error as Error).message}; run it again once the cause is resolved`);
  await app.close();
  await nc.close();
  process.exit(1);
}
const seconds = (performance.now() - started) / 1000;
log.log(`rebuilt the session views and read models from ${lastSeq} stream sequences (${events} events) in ${seconds.toFixed(1)} s`);
await app.close();
await nc.close();

/** What a running projector says of itself, or undefined when none answers. */
async function runningProjector(): Promise<string | undefined> {
  try {
    return (await nc.request(group.presenceSubject, '', { timeout: 2000 })).string();
  } catch (error) {
    if (error instanceof natsErrors.RequestError && error.isNoResponders()) return undefined;
    // Something holds the subject but did not answer in time: assume a projector, do no harm.
    return `no answer: ${(error as Error).message}`;
  }
}

async function lastEventSeq(manager: JetStreamManager): Promise<number> {
  try {
    return (await manager.streams.info(EVENTS_STREAM)).state.last_seq;
  } catch (error) {
    if (isNotFound(error)) return 0;
    throw error;
  }
}
