import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EVENTS_STREAM, sessionKey, sessionRefOfSubject, type ReadModelGroup, type SessionRef, type StoredSession } from '#contracts';
import { stuckSession } from '#domain';
import {
  ensureChangesStream,
  ensureEventStream,
  ensureProjectorConsumers,
  JETSTREAM,
  JETSTREAM_MANAGER,
  NATS_CONNECTION,
  NATS_STORE,
  readEvent,
  UnreadableEvent,
  type StoreOptions,
} from '#nats';
import { READ_MODEL_GROUP, startReadModelWriter, type ReadModelWriter } from '#read-models';
import { publishChange } from './change-notices.js';
import { bySubject, stepInStream, stuckAt } from './fold-from-stream.js';
import { projectedSession, type AppliedEvent } from './projected-session.js';
import type { ProjectorEnv } from './projector.env.js';
import { partitionShare } from './session-projection.consumer.js';
import { SessionViewStore, type StoredView } from './session-view.store.js';

/** Events folded together: one SQL transaction, and one view write per session, for each chunk. */
const CHUNK_EVENTS = 10_000;
/** How often the rebuild says how far it is. */
const PROGRESS_MS = 10_000;

interface FoldedSession {
  ref: SessionRef;
  /** The view the fold started from: as stored, or as the chunk before left it (its revision set once that chunk is stored). */
  base: StoredView;
  view: StoredSession | null;
  applied: AppliedEvent[];
  /** The view as this chunk leaves it, for the next chunk to fold onto; its revision is set once stored. */
  next: StoredView;
}

/**
 * Folds the whole event stream into emptied session views and read models (`npm run rebuild`,
 * the projector stopped): one ordered consumer reads it from the start, without acks, and it is
 * folded in chunks of CHUNK_EVENTS, each one SQL transaction and one view write per session; a
 * chunk's SQL is written on a thread of its own while the next chunk is read and folded. The
 * projector's consumers are then created to go on after the last event folded. The stream is
 * read whole, so an event whose predecessor is missing leaves its session stuck at once, as does
 * one that cannot be read or folded (`npm run refold` once fixed).
 */
@Injectable()
export class StreamRebuild {
  private readonly log = new Logger('Rebuild');
  private readonly batch: number;
  private readonly readModelUrl: string;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    private readonly views: SessionViewStore,
    @Inject(READ_MODEL_GROUP) private readonly group: ReadModelGroup,
    config: ConfigService<ProjectorEnv, true>,
  ) {
    this.batch = config.get('PROJECTOR_BATCH', { infer: true });
    this.readModelUrl = config.get('READ_MODEL_URL', { infer: true });
  }

  /** Folds the events up to stream sequence `lastSeq`; answers how many there were. */
  async run(lastSeq: number): Promise<number> {
    await ensureEventStream(this.jsm, this.store);
    await ensureChangesStream(this.jsm, this.store);
    const { messages } = (await this.jsm.streams.info(EVENTS_STREAM)).state;
    let folded = 0;
    if (messages > 0 && lastSeq > 0) {
      const writer = await startReadModelWriter(this.readModelUrl);
      try {
        folded = await this.foldStream(lastSeq, writer);
      } finally {
        await writer.close();
      }
    }
    await ensureProjectorConsumers(this.jsm, this.group, { ...this.store, maxAckPending: partitionShare(this.batch), startAfter: lastSeq });
    return folded;
  }

  /**
   * Reads and folds each chunk while the one before is being stored (its SQL on the writer's
   * thread, then its views): a chunk is folded onto the views the chunk before left, stored or not.
   */
  private async foldStream(lastSeq: number, writer: ReadModelWriter): Promise<number> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM);
    const messages = await consumer.consume({ max_messages: CHUNK_EVENTS });
    let chunk: JsMsg[] = [];
    let folded = 0;
    let storing: Promise<void> = Promise.resolve();
    let unsaved = new Map<string, StoredView>();
    let saidAt = performance.now();
    try {
      for await (const msg of messages) {
        if (msg.seq <= lastSeq) chunk.push(msg);
        // Nothing pending: the events up to lastSeq that are still stored are all read.
        const end = msg.seq >= lastSeq || msg.info.pending === 0;
        if (chunk.length >= CHUNK_EVENTS || end) {
          const sessions = await this.foldChunk(chunk, unsaved);
          await storing;
          storing = this.storeChunk(sessions, writer);
          // Caught here too, so that a failure waits for the next await rather than going unhandled meanwhile.
          storing.catch(() => undefined);
          unsaved = new Map(sessions.map(({ ref, next }) => [sessionKey(ref), next]));
          folded += chunk.length;
          chunk = [];
        }
        if (end) break;
        if (performance.now() - saidAt > PROGRESS_MS) {
          this.log.log(`folded ${folded} events, up to stream sequence ${msg.seq} of ${lastSeq}`);
          saidAt = performance.now();
        }
      }
      await storing;
    } finally {
      // A failed fold leaves nothing of the rebuild running behind it.
      await storing.catch(() => undefined);
      await messages.close();
    }
    return folded;
  }

  /** Folds each session's events of the chunk onto its view: the one the chunk before left (`unsaved`), else the stored one. */
  private foldChunk(chunk: JsMsg[], unsaved: Map<string, StoredView>): Promise<FoldedSession[]> {
    return Promise.all(
      [...bySubject(chunk)].map(async ([subject, msgs]) => {
        const ref = sessionRefOfSubject(subject);
        const base = unsaved.get(sessionKey(ref)) ?? (await this.views.load(ref));
        return this.foldSession(ref, base, msgs);
      }),
    );
  }

  /**
   * Stores the chunk's read models (one transaction, on the writer's thread), then its views (each
   * compare-and-set on the revision its fold started from), then tells subscribers. Runs once the
   * chunk before is stored, so every base's revision is known.
   */
  private async storeChunk(sessions: FoldedSession[], writer: ReadModelWriter): Promise<void> {
    const projected = sessions.map(({ ref, view, applied }) => projectedSession(ref, view, applied)).filter((session) => session !== undefined);
    if (projected.length > 0) await writer.apply(projected);
    await Promise.all(
      sessions.map(async ({ ref, base, view, next }) => {
        if (view === base.view) {
          next.revision = base.revision;
          return;
        }
        // Another writer here means a projector was started meanwhile: the rebuild stops (and can be run again).
        next.revision = await this.views.save(ref, view!, base);
        publishChange(this.nc, ref, view!);
      }),
    );
  }

  private foldSession(ref: SessionRef, base: StoredView, msgs: JsMsg[]): FoldedSession {
    let view = base.view;
    const applied: AppliedEvent[] = [];
    for (const msg of msgs) {
      if (view?.stuck) break;
      let event;
      try {
        event = readEvent(msg);
      } catch (error) {
        if (!(error instanceof UnreadableEvent)) throw error;
        view = stuckSession(view, ref, stuckAt(error.seq, error.reason));
        break;
      }
      const step = stepInStream(view, event, msg.seq, ref, true);
      view = step.view;
      if (step.applied) applied.push({ seq: msg.seq, event });
    }
    if (view?.stuck && !base.view?.stuck) {
      this.log.error(`session ${sessionKey(ref)} is stuck at stream sequence ${view.stuck.seq}: ${view.stuck.reason} (\`npm run refold\` once fixed)`);
    }
    return { ref, base, view, applied, next: { view, revision: base.revision } };
  }
}
