import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import { errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import {
  APPROVALS_STREAM,
  APPROVALS_SUBJECT_PREFIX,
  AUDIT_STREAM,
  AUDIT_SUBJECT_PREFIX,
  CHANGES_STREAM,
  CHANGES_SUBJECTS,
  COUNTERS_BUCKET,
  EVENTS_STREAM,
  EVENTS_SUBJECTS,
  SESSIONS_BUCKET,
  SESSION_PROJECTOR_DURABLE,
} from '#contracts';
import { isNotFound, isStreamNameInUse, isTemporarilyUnavailable } from './jetstream-errors.js';

/** How retries of one write are recognised by `Nats-Msg-Id`. */
const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;

export interface StoreOptions {
  /** Replicas of what is created; existing streams, buckets and the consumer with fewer are raised to it. */
  replicas: number;
  /** Says what was changed on an existing stream, bucket or consumer. */
  log: (message: string) => void;
}

/**
 * The event log: file-backed, kept for ever, one subject per session, direct gets enabled for the
 * write side's reads of a session. An existing stream gets back what the apps rely on if missing.
 */
export async function ensureEventStream(jsm: JetStreamManager, store: StoreOptions): Promise<void> {
  await ensureStream(
    jsm,
    { name: EVENTS_STREAM, subjects: [EVENTS_SUBJECTS], duplicate_window: DUPLICATE_WINDOW_NS, allow_direct: true, max_msg_size: 1024 * 1024 },
    store,
    (config) =>
      config.allow_direct && config.subjects.includes(EVENTS_SUBJECTS)
        ? {}
        : { allow_direct: true, subjects: [...new Set([...config.subjects, EVENTS_SUBJECTS])] },
  );
}

/** The bucket of session views (history 1: a view is rebuilt from the log, not from its past values). */
export function openSessionsBucket(nc: NatsConnection, store: StoreOptions): Promise<KV> {
  return openBucket(nc, SESSIONS_BUCKET, { history: 1 }, store);
}

/** Deletes the bucket of session views, for a rebuild into a fresh one. */
export async function deleteSessionsBucket(jsm: JetStreamManager): Promise<void> {
  await deleteIfPresent(() => jsm.streams.delete(`KV_${SESSIONS_BUCKET}`));
}

/**
 * The projector's durable pull consumer over the whole stream (every session), from the first
 * event. Acks are explicit, so an event is redelivered until its view is stored. No filter subject:
 * the stream holds session events only, and on nats-server 2.9 a filter costs a subject scan per
 * pull (measured: catch-up fell from ~60k to 3–9k events/s in some runs).
 */
/**
 * The projector's durable consumer. Events handed out and not yet acked are held in the projector's
 * memory, so the server may hand out one pull batch at a time (`maxAckPending`): memory stays
 * bounded by the batch, whatever the backlog, and no event waits in memory past the ack wait.
 * An existing consumer is brought to that bound, and to `replicas` where it has fewer.
 */
export function ensureProjectorConsumer(jsm: JetStreamManager, options: StoreOptions & { maxAckPending: number }): Promise<void> {
  return againWhileSettling(() => addOrUpdateProjectorConsumer(jsm, options));
}

async function addOrUpdateProjectorConsumer(jsm: JetStreamManager, { replicas, log, maxAckPending }: StoreOptions & { maxAckPending: number }): Promise<void> {
  const existing = await jsm.consumers.info(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  const add = (from: Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_seq'>) =>
    jsm.consumers.add(EVENTS_STREAM, {
      durable_name: SESSION_PROJECTOR_DURABLE,
      ack_policy: AckPolicy.Explicit,
      ...from,
      ack_wait: 10_000_000_000,
      max_ack_pending: maxAckPending,
      num_replicas: replicas,
    });
  if (!existing) {
    await add({ deliver_policy: DeliverPolicy.All });
    return;
  }
  const had = existing.config.num_replicas ?? 0;
  // 0 replicas: as many as the stream has. nats-server 2.9 raises a consumer's replicas, but the
  // raised group then at times elects no leader when a node goes (seen in the cluster spec): the
  // consumer is created again instead, from the first event not acked (folding again is harmless).
  if (had > 0 && had < replicas) {
    const from = existing.ack_floor.stream_seq + 1;
    log(`consumer ${SESSION_PROJECTOR_DURABLE} has ${had} replica(s): creating it again with ${replicas}, from stream sequence ${from}`);
    await jsm.consumers.delete(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE);
    await add({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
  } else if (existing.config.max_ack_pending !== maxAckPending) {
    await jsm.consumers.update(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE, { max_ack_pending: maxAckPending });
  }
}

export async function deleteProjectorConsumer(jsm: JetStreamManager): Promise<void> {
  await deleteIfPresent(() => jsm.consumers.delete(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE));
}

async function deleteIfPresent(remove: () => Promise<unknown>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** The audit stream: a record per tool call, kept `maxAgeDays`; file-backed like the events. */
export async function ensureAuditStream(jsm: JetStreamManager, { maxAgeDays, ...store }: StoreOptions & { maxAgeDays: number }): Promise<void> {
  await ensureStream(
    jsm,
    { name: AUDIT_STREAM, subjects: [`${AUDIT_SUBJECT_PREFIX}.>`], max_age: maxAgeDays * 86_400 * 1_000_000_000, duplicate_window: DUPLICATE_WINDOW_NS },
    store,
  );
}

/** Approval requests and their decisions, kept 30 days; direct gets read an approval's last event. */
export async function ensureApprovalsStream(jsm: JetStreamManager, store: StoreOptions): Promise<void> {
  await ensureStream(
    jsm,
    {
      name: APPROVALS_STREAM,
      subjects: [`${APPROVALS_SUBJECT_PREFIX}.*`],
      max_age: 30 * 86_400 * 1_000_000_000,
      duplicate_window: DUPLICATE_WINDOW_NS,
      allow_direct: true,
    },
    store,
  );
}

/**
 * The session change notices the projector publishes (core NATS), kept a day in memory-light file
 * storage, so that live feeds resume from a sequence after a dropped connection. Only the
 * per-session subjects are kept; the per-project copies are live only.
 */
export async function ensureChangesStream(jsm: JetStreamManager, store: StoreOptions): Promise<void> {
  await ensureStream(jsm, { name: CHANGES_STREAM, subjects: [CHANGES_SUBJECTS], max_age: 86_400 * 1_000_000_000, max_bytes: 1024 * 1024 * 1024 }, store);
}

type Repair = (existing: StreamConfig) => Partial<StreamConfig>;

/** Created when missing (file-backed, limits retention); an existing one goes through `keepUp`. */
function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, store: StoreOptions, repair?: Repair): Promise<void> {
  return againWhileSettling(() => addOrKeepUp(jsm, config, store, repair));
}

async function addOrKeepUp(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, store: StoreOptions, repair?: Repair): Promise<void> {
  try {
    await jsm.streams.add({
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      ...config,
      num_replicas: store.replicas,
    });
  } catch (error) {
    // Another app created it first, or it exists from an earlier start.
    if (!isStreamNameInUse(error)) throw error;
    await keepUp(jsm, config.name, store, repair);
  }
}

/**
 * nats-server 2.9 in a cluster leaves one of two changes of a stream at once (apps starting
 * together) unanswered, and may leave requests about a stream being resized so (they time out),
 * or refuse them while its replicas elect a leader: provisioning looks again, a few times.
 */
async function againWhileSettling<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof natsErrors.TimeoutError || isTemporarilyUnavailable(error)) || attempt === 5) throw error;
      await sleep(500);
    }
  }
}

/**
 * An existing stream keeps the operator's settings (limits, more replicas than asked), except what
 * `repair` puts back and its replicas: fewer than asked are raised (a stream created on a single
 * server, now on a cluster), and nats-server copies its messages to the new peers.
 */
async function keepUp(jsm: JetStreamManager, name: string, { replicas, log }: StoreOptions, repair: Repair = () => ({})): Promise<void> {
  const { config } = await jsm.streams.info(name);
  const raise = config.num_replicas < replicas;
  const changes = { ...repair(config), ...(raise ? { num_replicas: replicas } : {}) };
  if (Object.keys(changes).length === 0) return;
  await jsm.streams.update(name, { ...config, ...changes });
  if (raise) log(`stream ${name}: replicas raised from ${config.num_replicas} to ${replicas}`);
}

/** A KV bucket, file-backed, created when missing; an existing one has its replicas kept up (keepUp). */
function openBucket(nc: NatsConnection, name: string, options: Partial<KvOptions>, store: StoreOptions): Promise<KV> {
  return againWhileSettling(async () => {
    const kv = await new Kvm(nc).create(name, { ...options, replicas: store.replicas, storage: StorageType.File });
    await keepUp(await jetstreamManager(nc, { checkAPI: false }), `KV_${name}`, store);
    return kv;
  });
}

/**
 * Limit counters: one key per counter, scope holder and window. A key is dropped 25 hours after
 * its last change — after its window ended, as the longest window is a day — so old windows clean
 * themselves up.
 */
export function openCountersBucket(nc: NatsConnection, store: StoreOptions): Promise<KV> {
  return openBucket(nc, COUNTERS_BUCKET, { history: 1, ttl: 25 * 3_600_000 }, store);
}
