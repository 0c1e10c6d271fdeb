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
import { READ_MODEL_GROUP, READ_MODEL_STORE, type ReadModelStore } from '#read-models';
import { publishChange } from './change-notices.js';
import { stepInStream, stuckAt } from './fold-from-stream.js';
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
  stored: StoredView;
  view: StoredSession | null;
  applied: AppliedEvent[];
}

/**
 * Folds the whole event stream into emptied session views and read models (`npm run rebuild`,
 * the projector stopped): one ordered consumer reads it from the start, without acks, and it is
 * folded in chunks of CHUNK_EVENTS, each one SQL transaction and one view write per session. The
 * projector's consumers are then created to go on after the last event folded. The stream is
 * read whole, so an event whose predecessor is missing leaves its session stuck at once, as does
 * one that cannot be read or folded (`npm run refold` once fixed).
 */
@Injectable()
export class StreamRebuild {
  private readonly log = new Logger('Rebuild');
  private readonly batch: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    private readonly views: SessionViewStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(READ_MODEL_GROUP) private readonly group: ReadModelGroup,
    config: ConfigService<ProjectorEnv, true>,
  ) {
    this.batch = config.get('PROJECTOR_BATCH', { infer: true });
  }

  /** Folds the events up to stream sequence `lastSeq`; answers how many there were. */
  async run(lastSeq: number): Promise<number> {
    await ensureEventStream(this.jsm, this.store);
    await ensureChangesStream(this.jsm, this.store);
    const { messages } = (await this.jsm.streams.info(EVENTS_STREAM)).state;
    const folded = messages > 0 && lastSeq > 0 ? await this.foldStream(lastSeq) : 0;
    await ensureProjectorConsumers(this.jsm, this.group, { ...this.store, maxAckPending: partitionShare(this.batch), startAfter: lastSeq });
    return folded;
  }

  private async foldStream(lastSeq: number): Promise<number> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM);
    const messages = await consumer.consume({ max_messages: CHUNK_EVENTS });
    let chunk: JsMsg[] = [];
    let folded = 0;
    let saidAt = performance.now();
    try {
      for await (const msg of messages) {
        if (msg.seq <= lastSeq) chunk.push(msg);
        // Nothing pending: the events up to lastSeq that are still stored are all read.
        const end = msg.seq >= lastSeq || msg.info.pending === 0;
        if (chunk.length >= CHUNK_EVENTS || end) {
          await this.foldChunk(chunk);
          folded += chunk.length;
          chunk = [];
        }
        if (end) break;
        if (performance.now() - saidAt > PROGRESS_MS) {
          this.log.log(`folded ${folded} events, up to stream sequence ${msg.seq} of ${lastSeq}`);
          saidAt = performance.now();
        }
      }
    } finally {
      await messages.close();
    }
    return folded;
  }

  /** Folds each session's events of the chunk onto its view; stores the read models (one transaction), then the views, then tells subscribers. */
  private async foldChunk(chunk: JsMsg[]): Promise<void> {
    const bySubject = new Map<string, JsMsg[]>();
    for (const msg of chunk) {
      const list = bySubject.get(msg.subject);
      if (list) list.push(msg);
      else bySubject.set(msg.subject, [msg]);
    }
    const sessions = await Promise.all([...bySubject].map(([subject, msgs]) => this.foldSession(sessionRefOfSubject(subject), msgs)));
    const projected = sessions.map(({ ref, view, applied }) => projectedSession(ref, view, applied)).filter((session) => session !== undefined);
    if (projected.length > 0) await this.readModels.apply(projected);
    const changed = sessions.filter(({ view, stored }) => view !== stored.view);
    // Another writer here means a projector was started meanwhile: the rebuild stops (and can be run again).
    await Promise.all(changed.map(({ ref, view, stored }) => this.views.save(ref, view!, stored)));
    for (const { ref, view } of changed) publishChange(this.nc, ref, view!);
  }

  private async foldSession(ref: SessionRef, msgs: JsMsg[]): Promise<FoldedSession> {
    const stored = await this.views.load(ref);
    let view = stored.view;
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
    if (view?.stuck && !stored.view?.stuck) {
      this.log.error(`session ${sessionKey(ref)} is stuck at stream sequence ${view.stuck.seq}: ${view.stuck.reason} (\`npm run refold\` once fixed)`);
    }
    return { ref, stored, view, applied };
  }
}
