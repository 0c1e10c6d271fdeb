import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
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
  EVENT_PARTITIONS,
  EVENTS_SUBJECTS,
  partitionEventSubjects,
  PROJECTOR_LEASES_BUCKET,
  readModelGroup,
  SESSIONS_BUCKET,
  UNPARTITIONED_EVENT_SUBJECTS,
  LEGACY_EVENT_SUBJECTS,
  type ReadModelGroup,
} from '#contracts';
import { isJetStreamNotAnswering, isNotFound, isStreamNameInUse, isTemporarilyUnavailable } from './jetstream-errors.js';

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

/**
 * Drops the group's session views (and only its: groups share the bucket), for a rebuild into fresh
 * ones: each is replaced by a purge marker, so the view written next follows the marker's revision
 * (a key emptied outright would have its next writes taken for repeats of the first ones within
 * the bucket's duplicate window: see successorMsgId).
 */
export async function purgeSessionViews(nc: NatsConnection, group: ReadModelGroup): Promise<number> {
  const kv = await new Kvm(nc).open(SESSIONS_BUCKET);
  const keys: string[] = [];
  for await (const key of await kv.keys(group.viewKeys)) keys.push(key);
  for (const key of keys) await kv.purge(key);
  return keys.length;
}

/** A part of the event stream one projector replica folds at a time: its durable consumer and the subjects it takes. */
export interface ProjectorPartition {
  durable: string;
  filter: string;
}

const partitions = (group: ReadModelGroup): ProjectorPartition[] =>
  Array.from({ length: EVENT_PARTITIONS }, (_, partition) => ({ durable: group.durable(partition), filter: partitionEventSubjects(partition) }));
const earlierForms = (group: ReadModelGroup): ProjectorPartition[] => [
  { durable: group.unpartitionedDurable, filter: UNPARTITIONED_EVENT_SUBJECTS },
  { durable: group.ownerlessDurable, filter: LEGACY_EVENT_SUBJECTS },
];
const everyConsumer = (group: ReadModelGroup) => [...partitions(group), ...earlierForms(group)];

/** `startAfter`: a consumer created now delivers the events after this stream sequence (a rebuild folded those before). */
type ProjectorConsumerOptions = StoreOptions & { maxAckPending: number; startAfter?: number };

/**
 * The projector's durable consumers, one per partition, from the first event; and one for each
 * subject form of an earlier version the stream still takes (the consumer of the days before
 * partitions is kept for the unpartitioned subjects, so its progress carries over). Acks are
 * explicit, so an event is redelivered until its view is stored. Events handed out and not yet
 * acked are held in the projector's memory, so the server hands out one pull batch at a time per
 * consumer (`maxAckPending`): memory stays bounded, whatever the backlog. Existing consumers are
 * brought to that bound, and to `replicas` where they have fewer. Answers the partitions.
 */
export async function ensureProjectorConsumers(jsm: JetStreamManager, group: ReadModelGroup, options: ProjectorConsumerOptions): Promise<ProjectorPartition[]> {
  const { subjects } = (await againWhileSettling(() => jsm.streams.info(EVENTS_STREAM))).config;
  const consumers = [...partitions(group), ...earlierForms(group).filter(({ filter }) => subjects.includes(filter))];
  for (const consumer of consumers) await againWhileSettling(() => addOrUpdateProjectorConsumer(jsm, consumer, options));
  return consumers;
}

async function addOrUpdateProjectorConsumer(
  jsm: JetStreamManager,
  { durable, filter }: ProjectorPartition,
  { replicas, log, maxAckPending, startAfter = 0 }: ProjectorConsumerOptions,
): Promise<void> {
  const existing = await consumerInfo(jsm, durable);
  const add = (from: Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_seq'>) =>
    jsm.consumers.add(EVENTS_STREAM, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: filter,
      ...from,
      ack_wait: 10_000_000_000,
      max_ack_pending: maxAckPending,
      num_replicas: replicas,
    });
  if (!existing) {
    await add(startAfter > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAfter + 1 } : { deliver_policy: DeliverPolicy.All });
    return;
  }
  const had = existing.config.num_replicas ?? 0;
  // 0 replicas: as many as the stream has. nats-server 2.9 raises a consumer's replicas, but the
  // raised group then at times elects no leader when a node goes (seen in the cluster spec): the
  // consumer is created again instead, from the first event not acked (folding again is harmless).
  if (had > 0 && had < replicas) {
    const from = existing.ack_floor.stream_seq + 1;
    log(`consumer ${durable} has ${had} replica(s): creating it again with ${replicas}, from stream sequence ${from}`);
    await jsm.consumers.delete(EVENTS_STREAM, durable);
    await add({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
  } else if (existing.config.max_ack_pending !== maxAckPending || existing.config.filter_subject !== filter) {
    if (existing.config.filter_subject !== filter) log(`consumer ${durable}: now folds ${filter} only (the partitions' consumers fold the rest)`);
    await jsm.consumers.update(EVENTS_STREAM, durable, { max_ack_pending: maxAckPending, filter_subject: filter });
  }
}

/** The group's projector consumers there are, with how far each has folded. */
export async function projectorConsumers(jsm: JetStreamManager, group = readModelGroup()): Promise<ConsumerInfo[]> {
  const infos = await Promise.all(everyConsumer(group).map(({ durable }) => consumerInfo(jsm, durable)));
  return infos.filter((info) => info !== undefined);
}

/**
 * Whether the group's projector has folded every event up to stream sequence `seq`: each of its
 * consumers has acked all its events to there, or has none left to hand out or to be acked.
 */
export async function projectorFoldedThrough(jsm: JetStreamManager, seq: number, group = readModelGroup()): Promise<boolean> {
  const consumers = await projectorConsumers(jsm, group);
  return (
    consumers.length >= EVENT_PARTITIONS &&
    consumers.every((info) => info.ack_floor.stream_seq >= seq || (info.num_pending === 0 && info.num_ack_pending === 0))
  );
}

export async function deleteProjectorConsumers(jsm: JetStreamManager, group: ReadModelGroup): Promise<void> {
  for (const { durable } of everyConsumer(group)) await deleteIfPresent(() => jsm.consumers.delete(EVENTS_STREAM, durable));
}

function consumerInfo(jsm: JetStreamManager, durable: string): Promise<ConsumerInfo | undefined> {
  return jsm.consumers.info(EVENTS_STREAM, durable).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
}

/**
 * Projector partition leases and live replicas: each entry expires `ttlMs` after its last write,
 * so a replica that dies frees its partitions that long after.
 */
export function openProjectorLeasesBucket(nc: NatsConnection, store: StoreOptions, ttlMs: number): Promise<KV> {
  return openBucket(nc, PROJECTOR_LEASES_BUCKET, { history: 1, ttl: ttlMs }, store);
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
 * or refuse them while its replicas elect a leader; a node of a cluster just formed may not answer
 * JetStream requests yet (no responders: "jetstream is not enabled"). Provisioning looks again, for
 * up to ~15 s (raising a stream and then its 8 partition consumers to 3 replicas took over 5 s). (A server without JetStream at all is refused before, when the apps connect.)
 */
async function againWhileSettling<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const settling = error instanceof natsErrors.TimeoutError || isJetStreamNotAnswering(error) || isTemporarilyUnavailable(error);
      if (!settling || attempt === 30) throw error;
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
