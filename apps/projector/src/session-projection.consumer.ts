import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  EVENT_PARTITIONS,
  EVENTS_STREAM,
  sessionKey,
  sessionRefOfSubject,
  type PytestEvent,
  type ReadModelGroup,
  type SessionRef,
  type StoredSession,
  type StuckMark,
} from '#contracts';
import { stuckSession } from '#domain';
import { READ_MODEL_GROUP, READ_MODEL_STORE, type ReadModelStore } from '#read-models';
import {
  ensureChangesStream,
  ensureEventStream,
  ensureProjectorConsumers,
  JETSTREAM,
  JETSTREAM_MANAGER,
  NATS_CONNECTION,
  NATS_STORE,
  openProjectorLeasesBucket,
  projectorConsumers,
  readEvent,
  UnreadableEvent,
  type ProjectorPartition,
  type StoreOptions,
} from '#nats';
import { publishChange } from './change-notices.js';
import { bySubject, foldEvent, foldFromStream, missingBefore, stuckAt } from './fold-from-stream.js';
import { LEASE_TTL_MS, PartitionLeases, type PartitionWorker } from './partition-leases.js';
import { projectedSession, type AppliedEvent } from './projected-session.js';
import { ProjectorMetrics } from './projector-metrics.js';
import type { ProjectorEnv } from './projector.env.js';
import { SessionViewStore, ViewConflict, type StoredView } from './session-view.store.js';

/** An event whose predecessor cannot be read yet comes back after this delay… */
const GAP_RETRY_MS = 500;
/** …until it was delivered this often: then the predecessor is missing from the stream for good. */
const GAP_DELIVERIES = 5;
/** Reload-and-refold rounds when another writer changed a view meanwhile. */
const CONFLICT_ROUNDS = 5;
/**
 * How long a fetch waits for events before the next is asked for: bounds a partition's hand-over.
 * Its heartbeats come every half of it and a fetch ends after two are missed, so it is also how
 * long folding may keep the event loop busy before a fetch fails (and the events the server sent it
 * wait out the ack wait): 1 s failed fetches in a backlog of many sessions.
 */
const FETCH_EXPIRES_MS = 5_000;
/** A failed fetch (NATS away, a cluster node lost) is asked again after this. */
const FETCH_RETRY_MS = 1_000;
/** While a backlog is being fetched (more events pending), events are gathered this long into one fold. */
const BACKLOG_GATHER_MS = 5;

/** Each partition consumer's share of PROJECTOR_BATCH: a replica folding every partition holds one batch at most, as one consumer did. */
export const partitionShare = (batch: number): number => Math.ceil(batch / EVENT_PARTITIONS);

/** A partition being fetched, until `stopping`; `done` once its last fetch ended. */
interface Pulling {
  stopping: boolean;
  done: Promise<void>;
}

/**
 * Folds the event stream into session views: one durable pull consumer per partition of the
 * stream, folded while this replica holds the partition's lease (see PartitionLeases), so each
 * session's events are folded in order by one replica at a time. Whatever its partition, each
 * batch's events are folded per session, each view written once (compare-and-set), a change
 * notice published, and only then the events acked.
 */
@Injectable()
export class SessionProjectionConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown, PartitionWorker {
  private readonly log = new Logger('Projector');
  private readonly folding = new Map<string, Pulling>();
  private leases?: PartitionLeases;
  private presence?: Subscription;
  private buffer: JsMsg[] = [];
  private flushing?: Promise<void>;
  private readonly batch: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    private readonly views: SessionViewStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(READ_MODEL_GROUP) private readonly group: ReadModelGroup,
    private readonly metrics: ProjectorMetrics,
    config: ConfigService<ProjectorEnv, true>,
  ) {
    this.batch = config.get('PROJECTOR_BATCH', { infer: true });
  }

  private get perPartition(): number {
    return partitionShare(this.batch);
  }

  async onApplicationBootstrap(): Promise<void> {
    await ensureEventStream(this.jsm, this.store);
    await ensureChangesStream(this.jsm, this.store);
    const partitions = await ensureProjectorConsumers(this.jsm, this.group, { ...this.store, maxAckPending: this.perPartition });
    await this.checkReadModelsCaughtUp();
    this.presence = this.nc.subscribe(this.group.presenceSubject, {
      callback: (_error, msg) => void msg.respond(JSON.stringify({ pid: process.pid })),
    });
    const leases = await openProjectorLeasesBucket(this.nc, this.store, LEASE_TTL_MS);
    this.leases = new PartitionLeases(leases, this.js, this.group, partitions, this, this.log);
    await this.leases.start();
    const group = this.group.name ? ` of read-model group ${this.group.name}` : '';
    this.log.log(
      `folding ${EVENTS_STREAM} into session views: replica ${this.leases.replica}${group}, partitions ${this.leases.holding.join(' ') || 'none yet'}`,
    );
  }

  async start({ durable }: ProjectorPartition): Promise<void> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, durable);
    const pulling: Pulling = { stopping: false, done: Promise.resolve() };
    pulling.done = this.pull(durable, consumer, pulling);
    this.folding.set(durable, pulling);
  }

  /**
   * Fetches the partition's events a batch at a time until told to stop. Each fetch ends (full, or
   * after FETCH_EXPIRES_MS) before the next is asked for, so a partition handed to another replica
   * leaves no event in flight to this one (a stopped `consume()` would strand them until the ack
   * wait), and a pull lost with a cluster node is asked again within that time.
   */
  private async pull(durable: string, consumer: Consumer, pulling: Pulling): Promise<void> {
    while (!pulling.stopping) {
      try {
        for await (const msg of await consumer.fetch({ max_messages: this.perPartition, expires: FETCH_EXPIRES_MS })) this.receive(msg);
      } catch (error) {
        if (pulling.stopping) return;
        this.log.warn(`partition ${durable}: fetch failed (${(error as Error).message}); fetching again`);
        await sleep(FETCH_RETRY_MS);
      }
    }
  }

  /**
   * Only buffers; a flush folds all that arrived: after the current I/O turn when the consumer has
   * nothing more pending (live events, folded at once), a little later in a backlog, so that one
   * fold (one SQL transaction, one view write per session) takes many events rather than a few.
   */
  private receive(msg: JsMsg): void {
    this.buffer.push(msg);
    this.flushing ??= new Promise<void>((resolve) => (msg.info.pending > 0 ? setTimeout(resolve, BACKLOG_GATHER_MS) : setImmediate(resolve)))
      .then(() => this.flush())
      .catch((error: unknown) => {
        // Unacked, the batch comes back after the ack wait; later messages must not wait behind it.
        this.log.error(`batch not folded (${(error as Error).message}); its events will be redelivered`);
        this.buffer = [];
        this.flushing = undefined;
      });
  }

  async stop({ durable }: ProjectorPartition): Promise<void> {
    const pulling = this.folding.get(durable);
    this.folding.delete(durable);
    if (pulling) {
      pulling.stopping = true;
      await pulling.done;
    }
    while (this.flushing) await this.flushing;
  }

  /**
   * Both read models are folded by these consumers. Read models that hold nothing while the
   * consumers have folded events already (an upgrade from a version without them, or a new
   * READ_MODEL_URL) would never get those events: say how to fold them, rather than serve gaps.
   */
  private async checkReadModelsCaughtUp(): Promise<void> {
    const folded = Math.max(...(await projectorConsumers(this.jsm, this.group)).map((info) => info.ack_floor.stream_seq));
    if (folded > 0 && (await this.readModels.appliedSeq()) === 0) {
      throw new Error(
        `the read models in ${this.readModels.location} are empty, but the session views already hold ${EVENTS_STREAM} up to sequence ${folded}: ` +
          'run `npm run rebuild` (stop the projector first) to fold the whole stream into both',
      );
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.presence?.unsubscribe();
    await this.leases?.stop();
  }

  private async flush(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      const startedAt = performance.now();
      // The subject names one session (`pytest.events.<owner>.<id>`, or a bare id from before owners).
      const folded = await Promise.all([...bySubject(batch)].map(([subject, msgs]) => this.foldSession(subject, msgs)));
      const sessions = folded.filter((session): session is FoldedSession => session !== undefined);
      // The SQL read models first, in one transaction for the batch: a view stored in KV is never ahead of them.
      if (!(await this.applyReadModels(sessions))) continue;
      const stored = await Promise.all(sessions.map((session) => this.storeView(session)));
      for (const session of stored) if (session && session.view !== session.stored.view) publishChange(this.nc, session.ref, session.view!);
      let acked = 0;
      for (const session of stored) if (session) acked += this.ack(session);
      this.metrics.batchFolded(acked, startedAt);
    }
    this.flushing = undefined;
  }

  /** Loads the session's view and folds its messages (in stream order); undefined when that failed (the messages are redelivered). */
  private async foldSession(subject: string, msgs: JsMsg[]): Promise<FoldedSession | undefined> {
    const ref = sessionRefOfSubject(subject);
    try {
      const stored = await this.views.load(ref);
      return { subject, ref, msgs, stored, ...(await this.fold(subject, ref, stored, msgs)) };
    } catch (error) {
      this.notStored(ref, error);
      return undefined;
    }
  }

  /** Stores what the sessions' events changed in the SQL read models; false (nothing acked, all redelivered) when that failed. */
  private async applyReadModels(sessions: FoldedSession[]): Promise<boolean> {
    const projected = sessions.map(({ ref, view, applied }) => projectedSession(ref, view, applied)).filter((session) => session !== undefined);
    if (projected.length === 0) return true;
    try {
      const startedAt = performance.now();
      await this.readModels.apply(projected);
      this.metrics.readModelsWritten(startedAt);
      return true;
    } catch (error) {
      for (const session of sessions) this.views.forget(session.ref);
      this.log.warn(`read models not stored (${(error as Error).message}); ${projected.length} session(s)' events will be redelivered`);
      return false;
    }
  }

  /**
   * Stores the session's view (compare-and-set). When another writer changed it meanwhile, folds
   * the messages again onto the newer view (and into the read models, which take each event once)
   * and retries. Answers the session as stored, or undefined when it was not (its messages are redelivered).
   */
  private async storeView(session: FoldedSession): Promise<FoldedSession | undefined> {
    try {
      for (let round = 1; ; round++) {
        try {
          if (session.view !== session.stored.view) await this.views.save(session.ref, session.view!, session.stored);
          // A stuck view may be re-folded by `npm run refold` at any time: read it from the bucket next time.
          if (session.view?.stuck) this.views.forget(session.ref);
          return session;
        } catch (error) {
          if (!(error instanceof ViewConflict) || round >= CONFLICT_ROUNDS) throw error;
        }
        const again = await this.foldSession(session.subject, session.msgs);
        if (!again || !(await this.applyReadModels([again]))) return undefined;
        session = again;
      }
    } catch (error) {
      this.notStored(session.ref, error);
      return undefined;
    }
  }

  /** Acks the session's messages, except those waiting for an earlier event (redelivered shortly); how many it acked. */
  private ack({ msgs, gaps }: FoldedSession): number {
    for (const msg of msgs) {
      if (gaps.has(msg)) msg.nak(GAP_RETRY_MS);
      else msg.ack();
    }
    return msgs.length - gaps.size;
  }

  /** Not acked: JetStream redelivers these events after the consumer's ack wait. */
  private notStored(ref: SessionRef, error: unknown): void {
    this.views.forget(ref);
    this.log.warn(`session ${sessionKey(ref)}: view not stored (${(error as Error).message}); events will be redelivered`);
  }

  /**
   * Folds the messages into the view. An event whose predecessors are not folded yet (they were
   * delivered to a projector that died before acking) has them read from the stream first. An
   * event that cannot be folded (unreadable, out of place, or whose predecessor stays missing
   * after GAP_DELIVERIES tries) marks the session stuck (said in its view, and in the log) rather
   * than being dropped; the session's later events are then acked unfolded, and re-folded from the
   * stream by `npm run refold`. Says which messages still wait for an earlier event.
   */
  private async fold(subject: string, ref: SessionRef, stored: StoredView, msgs: JsMsg[]) {
    let view = stored.view;
    const gaps = new Set<JsMsg>();
    const applied: AppliedEvent[] = [];
    const onApplied = (seq: number, event: PytestEvent) => applied.push({ seq, event });
    const stuck = (mark: StuckMark) => {
      this.log.error(
        `session ${sessionKey(ref)} is stuck at stream sequence ${mark.seq}: ${mark.reason} (other sessions go on; \`npm run refold\` once fixed)`,
      );
      view = stuckSession(view, ref, mark);
    };
    for (const msg of msgs) {
      if (view?.stuck) break;
      let event: PytestEvent;
      try {
        event = readEvent(msg);
      } catch (error) {
        if (!(error instanceof UnreadableEvent)) throw error;
        stuck(stuckAt(error.seq, error.reason));
        break;
      }
      let projection = foldEvent(view, event, msg.seq, ref);
      if (projection.kind === 'gap') {
        view = await foldFromStream(this.js, this.jsm, subject, ref, view, { beforeSeq: msg.seq, onApplied });
        if (view?.stuck) stuck(view.stuck);
        else projection = foldEvent(view, event, msg.seq, ref);
      }
      if (view?.stuck) break;
      if (projection.kind === 'applied') {
        view = projection.view;
        onApplied(msg.seq, event);
      } else if (projection.kind === 'invalid') stuck(stuckAt(msg.seq, projection.reason));
      else if (projection.kind === 'gap' && msg.info.deliveryCount >= GAP_DELIVERIES) {
        stuck(stuckAt(msg.seq, missingBefore(projection.expectedVersion)));
      } else if (projection.kind === 'gap') gaps.add(msg);
    }
    return { view, gaps, applied };
  }
}

/** A session's messages of one batch, folded onto its stored view. */
interface FoldedSession {
  subject: string;
  ref: SessionRef;
  msgs: JsMsg[];
  stored: StoredView;
  view: StoredSession | null;
  gaps: Set<JsMsg>;
  /** The events folded, in order (also those read from the stream to fill a gap). */
  applied: AppliedEvent[];
}
