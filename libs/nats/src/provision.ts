import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
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
import { isNotFound, isStreamNameInUse } from './jetstream-errors.js';

/** How retries of one write are recognised by `Nats-Msg-Id`. */
const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;

export interface StoreOptions {
  replicas: number;
}

/**
 * The event log: file-backed, kept for ever, one subject per session, direct gets enabled for the
 * write side's reads of a session. Created when missing. An existing stream keeps its own settings
 * (replicas, limits: an operator's to change); only what the apps rely on is put back if missing.
 */
export async function ensureEventStream(jsm: JetStreamManager, { replicas }: StoreOptions): Promise<void> {
  try {
    await jsm.streams.add({
      name: EVENTS_STREAM,
      subjects: [EVENTS_SUBJECTS],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: replicas,
      duplicate_window: DUPLICATE_WINDOW_NS,
      allow_direct: true,
      max_msg_size: 1024 * 1024,
    });
  } catch (error) {
    // Another app created it first, or it exists from an earlier start.
    if (!isStreamNameInUse(error)) throw error;
    const { config } = await jsm.streams.info(EVENTS_STREAM);
    if (config.allow_direct && config.subjects.includes(EVENTS_SUBJECTS)) return;
    await jsm.streams.update(EVENTS_STREAM, { ...config, allow_direct: true, subjects: [...new Set([...config.subjects, EVENTS_SUBJECTS])] });
  }
}

/** The bucket of session views (history 1: a view is rebuilt from the log, not from its past values). */
export function openSessionsBucket(nc: NatsConnection, { replicas }: StoreOptions): Promise<KV> {
  return new Kvm(nc).create(SESSIONS_BUCKET, { history: 1, replicas, storage: StorageType.File });
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
 * An existing consumer is brought to that bound.
 */
export async function ensureProjectorConsumer(jsm: JetStreamManager, { replicas, maxAckPending }: StoreOptions & { maxAckPending: number }): Promise<void> {
  const existing = await jsm.consumers.info(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  if (!existing) {
    await jsm.consumers.add(EVENTS_STREAM, {
      durable_name: SESSION_PROJECTOR_DURABLE,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 10_000_000_000,
      max_ack_pending: maxAckPending,
      num_replicas: replicas,
    });
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
export async function ensureAuditStream(jsm: JetStreamManager, { replicas, maxAgeDays }: StoreOptions & { maxAgeDays: number }): Promise<void> {
  await ensureStream(jsm, {
    name: AUDIT_STREAM,
    subjects: [`${AUDIT_SUBJECT_PREFIX}.>`],
    num_replicas: replicas,
    max_age: maxAgeDays * 86_400 * 1_000_000_000,
    duplicate_window: DUPLICATE_WINDOW_NS,
  });
}

/** Approval requests and their decisions, kept 30 days; direct gets read an approval's last event. */
export async function ensureApprovalsStream(jsm: JetStreamManager, { replicas }: StoreOptions): Promise<void> {
  await ensureStream(jsm, {
    name: APPROVALS_STREAM,
    subjects: [`${APPROVALS_SUBJECT_PREFIX}.*`],
    num_replicas: replicas,
    max_age: 30 * 86_400 * 1_000_000_000,
    duplicate_window: DUPLICATE_WINDOW_NS,
    allow_direct: true,
  });
}

/**
 * The session change notices the projector publishes (core NATS), kept a day in memory-light file
 * storage, so that live feeds resume from a sequence after a dropped connection. Only the
 * per-session subjects are kept; the per-project copies are live only.
 */
export async function ensureChangesStream(jsm: JetStreamManager, { replicas }: StoreOptions): Promise<void> {
  await ensureStream(jsm, {
    name: CHANGES_STREAM,
    subjects: [CHANGES_SUBJECTS],
    num_replicas: replicas,
    max_age: 86_400 * 1_000_000_000,
    max_bytes: 1024 * 1024 * 1024,
  });
}

/** Created when missing; an existing stream keeps the operator's settings. */
async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.add({ storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, ...config });
  } catch (error) {
    if (!isStreamNameInUse(error)) throw error;
  }
}

/**
 * Limit counters: one key per counter, scope holder and window. A key is dropped 25 hours after
 * its last change — after its window ended, as the longest window is a day — so old windows clean
 * themselves up.
 */
export function openCountersBucket(nc: NatsConnection, { replicas }: StoreOptions): Promise<KV> {
  return new Kvm(nc).create(COUNTERS_BUCKET, { history: 1, replicas, storage: StorageType.File, ttl: 25 * 3_600_000 });
}
