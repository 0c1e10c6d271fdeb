import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  changeSubject,
  EVENTS_STREAM,
  eventSubject,
  parseEvent,
  PROJECTOR_PRESENCE_SUBJECT,
  SESSION_PROJECTOR_DURABLE,
  sessionIdOfSubject,
  type PytestEvent,
  type SessionChangeNotice,
  type SessionView,
} from '#contracts';
import { projectSession } from '#domain';
import { ensureEventStream, ensureProjectorConsumer, JETSTREAM, JETSTREAM_MANAGER, NATS_CONNECTION, readSubject } from '#nats';
import type { ProjectorEnv } from './projector.env.js';
import { SessionViewStore, ViewConflict, type StoredView } from './session-view.store.js';

/** An event whose predecessor cannot be read yet comes back after this delay. */
const GAP_RETRY_MS = 500;
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
      const bySession = new Map<string, JsMsg[]>();
      for (const msg of batch) {
        const sessionId = sessionIdOfSubject(msg.subject);
        const list = bySession.get(sessionId);
        if (list) list.push(msg);
        else bySession.set(sessionId, [msg]);
      }
      await Promise.all([...bySession].map(([sessionId, msgs]) => this.project(sessionId, msgs)));
    }
    this.flushing = undefined;
  }

  /** Folds one session's messages (in stream order) into its view, stores it, then acks them. */
  private async project(sessionId: string, msgs: JsMsg[]): Promise<void> {
    try {
      for (let round = 1; ; round++) {
        const stored = await this.views.load(sessionId);
        const { view, gaps, invalid } = await this.fold(sessionId, stored, msgs);
        try {
          if (view !== stored.view) {
            await this.views.save(sessionId, view!, stored);
            this.notify(view!);
          }
        } catch (error) {
          if (error instanceof ViewConflict && round < CONFLICT_ROUNDS) continue;
          throw error;
        }
        for (const msg of msgs) {
          if (invalid.has(msg)) msg.term();
          else if (gaps.has(msg)) msg.nak(GAP_RETRY_MS);
          else msg.ack();
        }
        return;
      }
    } catch (error) {
      // Not acked: JetStream redelivers these events after the consumer's ack wait.
      this.views.forget(sessionId);
      this.log.warn(`session ${sessionId}: view not stored (${(error as Error).message}); events will be redelivered`);
    }
  }

  /**
   * Folds the messages into the view. An event whose predecessors are not folded yet (they were
   * delivered to a projector that died before acking) has them read from the stream first.
   * Says which messages still wait for an earlier event, and which are no events at all.
   */
  private async fold(sessionId: string, stored: StoredView, msgs: JsMsg[]) {
    let view = stored.view;
    const gaps = new Set<JsMsg>();
    const invalid = new Set<JsMsg>();
    for (const msg of msgs) {
      const event = this.parse(msg);
      if (!event) {
        invalid.add(msg);
        continue;
      }
      let projection = projectSession(view, event, msg.seq);
      if (projection.kind === 'gap') {
        view = await this.foldFromStream(sessionId, view, msg.seq);
        projection = projectSession(view, event, msg.seq);
      }
      if (projection.kind === 'applied') view = projection.view;
      else if (projection.kind === 'gap') gaps.add(msg);
    }
    return { view, gaps, invalid };
  }

  /** Folds the session's events stored after the view and before `beforeSeq`, straight from the stream. */
  private async foldFromStream(sessionId: string, view: SessionView | null, beforeSeq: number): Promise<SessionView | null> {
    for await (const { seq, event } of readSubject(this.js, this.jsm, eventSubject(sessionId), view?.last_seq ?? 0, beforeSeq)) {
      const projection = projectSession(view, event, seq);
      if (projection.kind === 'applied') view = projection.view;
    }
    return view;
  }

  private parse(msg: JsMsg): PytestEvent | undefined {
    try {
      return parseEvent(msg.json());
    } catch (error) {
      // Nothing the gateway writes fails here; a message put in by other means is set aside, loudly.
      this.log.error(`stream sequence ${msg.seq} is not a valid event and is skipped: ${(error as Error).message}`);
      return undefined;
    }
  }

  private notify(view: SessionView): void {
    const { session_id, status, last_seq, version, counts } = view;
    const notice: SessionChangeNotice = { session_id, status, last_seq, version, counts };
    this.nc.publish(changeSubject(session_id), JSON.stringify(notice));
  }
}
