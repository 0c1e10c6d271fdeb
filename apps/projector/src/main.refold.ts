import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import {
  EVENTS_STREAM,
  eventSubject,
  isStuckStub,
  unpartitionedEventSubject,
  NAME_PATTERN,
  readModelGroup,
  SESSION_ID_PATTERN,
  SESSIONS_BUCKET,
  sessionKey,
  type SessionRef,
  type StoredSession,
} from '#contracts';
import { connectNats, natsAuth, kvCompareAndSet, lastSeqOn, openSessionsBucket, resolveReplicas } from '#nats';
import { loadDotEnv, parseEnv, setUpLogging } from '#platform';
import { publishChange } from './change-notices.js';
import { foldFromStream } from './fold-from-stream.js';
import { ProjectorEnv } from './projector.env.js';

/**
 * Folds sessions again from the stream into fresh views: `npm run refold -- OWNER/SESSION_ID …`, or
 * `--stuck` for every session the projector marked stuck. Safe beside a running projector: views
 * are written with compare-and-set, and a session is folded again until its view holds the last
 * event stored. Sessions recorded before sessions had owners are re-folded by `npm run rebuild`.
 * Folds the views of its read-model group (READ_MODEL_GROUP).
 */
const USAGE = 'usage: npm run refold -- OWNER/SESSION_ID … | --stuck';
loadDotEnv();
setUpLogging();
const log = new Logger('Refold');
const args = process.argv.slice(2);
if (args.length === 0) fail(USAGE);
const env = parseEnv(ProjectorEnv, process.env);
const group = readModelGroup(env.READ_MODEL_GROUP);
const nc = await connectNats({ url: env.NATS_URL, name: 'mcp-pytest-refold', log: (m) => log.log(m), auth: natsAuth((name) => env[name]) });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const kv = await openSessionsBucket(nc, { replicas: resolveReplicas(env.NATS_REPLICAS, nc), log: (m) => log.log(m) });
const refs = args.includes('--stuck') ? await stuckSessions(kv) : args.map(parseRef);
let stillStuck = 0;
for (const ref of refs) if (!(await refold(ref))) stillStuck++;
log.log(`re-folded ${refs.length} session(s)${stillStuck ? `; ${stillStuck} still stuck` : ''}`);
await nc.close();
process.exitCode = stillStuck ? 2 : 0;

function fail(message: string): never {
  log.fatal(message);
  process.exit(1);
}

function parseRef(arg: string): SessionRef {
  const [owner, sessionId, ...rest] = arg.split('/');
  if (!owner || !sessionId || rest.length > 0 || !NAME_PATTERN.test(owner) || !SESSION_ID_PATTERN.test(sessionId)) {
    fail(`"${arg}" is not OWNER/SESSION_ID (the view's owner and session_id). ${USAGE}`);
  }
  return { owner, sessionId };
}

async function stuckSessions(bucket: KV): Promise<SessionRef[]> {
  const refs: SessionRef[] = [];
  for await (const key of await bucket.keys(group.viewKeys)) {
    const stored = (await bucket.get(key))?.json<StoredSession>();
    if (stored?.stuck) refs.push({ owner: stored.owner, sessionId: stored.session_id });
  }
  return refs;
}

/** The session's subject: where this version writes it, or, for a session recorded before partitions, where that one did. */
async function storedSubject(ref: SessionRef): Promise<string> {
  const [subject, unpartitioned] = [eventSubject(ref), unpartitionedEventSubject(ref)];
  return (await lastSeqOn(jsm, subject)) === 0 && (await lastSeqOn(jsm, unpartitioned)) > 0 ? unpartitioned : subject;
}

/** Folds the session from its first event and stores the view; false when it is still stuck. */
async function refold(ref: SessionRef): Promise<boolean> {
  const key = sessionKey(ref);
  const viewKey = group.viewKey(ref);
  const subject = await storedSubject(ref);
  for (;;) {
    const entry = await kv.get(viewKey);
    const view = await foldFromStream(js, jsm, subject, ref, null, { complete: true });
    if (!view) {
      const stored = entry?.operation === 'PUT' ? entry.json<StoredSession>() : undefined;
      log.warn(`${key}: no events on ${subject} in ${EVENTS_STREAM}${stored?.stuck ? '; its view stays stuck' : ''}`);
      return !stored?.stuck;
    }
    // Undefined: the projector wrote meanwhile; fold again.
    if ((await kvCompareAndSet(js, SESSIONS_BUCKET, viewKey, JSON.stringify(view), entry?.revision ?? 0)) === undefined) continue;
    publishChange(nc, ref, view);
    if (isStuckStub(view) || view.stuck) {
      log.error(`${key}: still stuck at stream sequence ${view.stuck!.seq}: ${view.stuck!.reason}`);
      return false;
    }
    // An event stored while this fold ran was acked unfolded by the projector (the view was stuck): fold again.
    if ((await lastSeqOn(jsm, subject)) > view.last_seq) continue;
    log.log(`${key}: ${view.status}, ${view.version} event(s) folded up to stream sequence ${view.last_seq}`);
    return true;
  }
}
