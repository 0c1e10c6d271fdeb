import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  EVENTS_STREAM,
  PROJECTOR_PRESENCE_SUBJECT,
  SESSION_PROJECTOR_DURABLE,
  sessionKey,
  sessionRefOfSubject,
  type PytestEvent,
  type SessionRef,
  type StuckMark,
} from '#contracts';
import { stuckSession } from '#domain';
import { ensureEventStream, ensureProjectorConsumer, JETSTREAM, JETSTREAM_MANAGER, NATS_CONNECTION, readEvent, UnreadableEvent } from '#nats';
import { publishChange } from './change-notices.js';
import { foldEvent, foldFromStream, missingBefore, stuckAt } from './fold-from-stream.js';
import type { ProjectorEnv } from './projector.env.js';
import { SessionViewStore, ViewConflict, type StoredView } from './session-view.store.js';

/** An event whose predecessor cannot be read yet comes back after this delay… */
const GAP_RETRY_MS = 500;
/** …until it was delivered this often: then the predecessor is missing from the stream for good. */
const GAP_DELIVERIES = 5;
/** Reload-and-refold rounds when another writer changed a view meanwhile. */
const CONFLICT_ROUNDS = 5;

/**
 * Folds the event stream into session views: a durable pull consumer, read in batches; each batch's
 * events are folded per session, each view written once (compare-and-set), a change notice
 * published, and only then the events acked.
 */
@Injectable()
export class SessionProjectionConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Projector');
  private messages?: ConsumerMessages;
  private presence?: Subscription;
  private buffer: JsMsg[] = [];
  private flushing?: Promise<void>;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    private readonly views: SessionViewStore,
    private readonly config: ConfigService<ProjectorEnv, true>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const replicas = this.config.get('NATS_REPLICAS', { infer: true });
    await ensureEventStream(this.jsm, { replicas });
    await ensureProjectorConsumer(this.jsm, { replicas });
    const consumer = await this.js.consumers.get(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE);
    // The callback only buffers; a flush scheduled after the current I/O turn folds all that arrived.
    this.messages = await consumer.consume({
      max_messages: this.config.get('PROJECTOR_BATCH', { infer: true }),
      callback: (msg) => {
        this.buffer.push(msg);
        this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
      },
    });
    this.presence = this.nc.subscribe(PROJECTOR_PRESENCE_SUBJECT, {
      callback: (_error, msg) => void msg.respond(JSON.stringify({ pid: process.pid })),
    });
    this.log.log(`folding ${EVENTS_STREAM} into session views (durable consumer "${SESSION_PROJECTOR_DURABLE}")`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.presence?.unsubscribe();
    await this.messages?.close();
    await this.flushing;
  }

  private async flush(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      // The subject names one session (`pytest.events.<owner>.<id>`, or a bare id from before owners).
      const bySubject = new Map<string, JsMsg[]>();
      for (const msg of batch) {
        const list = bySubject.get(msg.subject);
        if (list) list.push(msg);
        else bySubject.set(msg.subject, [msg]);
      }
      await Promise.all([...bySubject].map(([subject, msgs]) => this.project(subject, msgs)));
    }
    this.flushing = undefined;
  }

  /** Folds one session's messages (in stream order) into its view, stores it, then acks them. */
  private async project(subject: string, msgs: JsMsg[]): Promise<void> {
    const ref = sessionRefOfSubject(subject);
    const key = sessionKey(ref);
    try {
      for (let round = 1; ; round++) {
        const stored = await this.views.load(key);
        const { view, gaps } = await this.fold(subject, ref, stored, msgs);
        try {
          if (view !== stored.view) {
            await this.views.save(key, view!, stored);
            publishChange(this.nc, ref, view!);
          }
        } catch (error) {
          if (error instanceof ViewConflict && round < CONFLICT_ROUNDS) continue;
          throw error;
        }
        // A stuck view may be re-folded by `npm run refold` at any time: read it from the bucket next time.
        if (view?.stuck) this.views.forget(key);
        for (const msg of msgs) {
          if (gaps.has(msg)) msg.nak(GAP_RETRY_MS);
          else msg.ack();
        }
        return;
      }
    } catch (error) {
      // Not acked: JetStream redelivers these events after the consumer's ack wait.
      this.views.forget(key);
      this.log.warn(`session ${key}: view not stored (${(error as Error).message}); events will be redelivered`);
    }
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
    const stuck = (mark: StuckMark) => {
      this.log.error(`session ${sessionKey(ref)} is stuck at stream sequence ${mark.seq}: ${mark.reason} (other sessions go on; \`npm run refold\` once fixed)`);
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
        view = await foldFromStream(this.js, this.jsm, subject, ref, view, { beforeSeq: msg.seq });
        if (view?.stuck) stuck(view.stuck);
        else projection = foldEvent(view, event, msg.seq, ref);
      }
      if (view?.stuck) break;
      if (projection.kind === 'applied') view = projection.view;
      else if (projection.kind === 'invalid') stuck(stuckAt(msg.seq, projection.reason));
      else if (projection.kind === 'gap' && msg.info.deliveryCount >= GAP_DELIVERIES) {
        stuck(stuckAt(msg.seq, missingBefore(projection.expectedVersion)));
      } else if (projection.kind === 'gap') gaps.add(msg);
    }
    return { view, gaps };
  }
}
