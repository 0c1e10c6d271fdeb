import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { CHANGES_STREAM, changeSubject, SessionChangeNotice, type Identity } from '#contracts';
import { ensureChangesStream, JETSTREAM, JETSTREAM_MANAGER, NATS_STORE, type StoreOptions } from '#nats';
import type { QueryEnv } from '../query.env.js';
import { HttpRefusal } from './http-answers.js';

/** A comment line this often keeps proxies and clients from taking a quiet stream for a dead one. */
const HEARTBEAT_MS = 15_000;
/** Bytes a client may leave unread; beyond, it is dropped (it resumes with Last-Event-ID) rather than held in memory. */
const MAX_UNREAD_BYTES = 1024 * 1024;
/** An ordered consumer left behind (e.g. by a crash) is removed by the server after this. */
const CONSUMER_IDLE_MS = 60_000;

/** What one stream follows: the sessions of one owner (or every owner: null), optionally one session or one project. */
export interface FeedFilter {
  owner: string | null;
  sessionId?: string;
  project?: string;
}

interface OpenStream {
  identity: Identity;
  close(): void;
}

/**
 * `/api/events`: Server-Sent Events of session change notices, read from the PYTEST_CHANGES stream
 * with an ordered consumer per client, filtered by subject to the owners the caller may read. Event
 * ids are stream sequences, so a client resumes right after the last one it got: nothing missed,
 * nothing twice. Where that point is no longer kept, `event: reset` tells it to load afresh.
 */
@Injectable()
export class ChangeFeed implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('ChangeFeed');
  private readonly streams = new Set<OpenStream>();
  private readonly maxStreams: number;

  constructor(
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    config: ConfigService<QueryEnv, true>,
  ) {
    this.maxStreams = config.get('QUERY_SSE_MAX_CLIENTS', { infer: true });
  }

  /** The stream is the projector's to fill; creating it here too lets clients connect before the projector first ran. */
  async onModuleInit(): Promise<void> {
    await ensureChangesStream(this.jsm, this.store);
  }

  onModuleDestroy(): void {
    this.closeWhere(() => true);
  }

  /** Ends the streams of callers for whom `ended` holds (e.g. their key was revoked). */
  closeWhere(ended: (identity: Identity) => boolean): void {
    for (const stream of this.streams) if (ended(stream.identity)) stream.close();
  }

  /** Streams the changes `filter` selects after event id `lastEventId` (else from now on) until the client goes away. */
  async follow(identity: Identity, filter: FeedFilter, lastEventId: number | undefined, res: ServerResponse): Promise<void> {
    if (this.streams.size >= this.maxStreams) {
      throw new HttpRefusal(503, 'TOO_MANY_STREAMS', `${this.maxStreams} event streams are open (QUERY_SSE_MAX_CLIENTS); retry later`);
    }
    // Held from here, before anything is awaited, so that concurrent requests cannot all pass the check above.
    let stop: () => void = () => undefined;
    const stream: OpenStream = { identity, close: () => stop() };
    this.streams.add(stream);
    try {
      const { state } = await this.jsm.streams.info(CHANGES_STREAM);
      // Kept: every event after it is still in the stream (a sequence beyond the last is from a stream since recreated).
      const kept = lastEventId === undefined || (lastEventId <= state.last_seq && lastEventId + 1 >= state.first_seq);
      const after = lastEventId !== undefined && kept ? lastEventId : state.last_seq;
      const consumer = await this.js.consumers.get(CHANGES_STREAM, {
        filter_subjects: changeSubject({ owner: filter.owner ?? '*', sessionId: filter.sessionId ?? '*' }),
        opt_start_seq: after + 1,
        inactive_threshold: CONSUMER_IDLE_MS,
      });
      const messages = await consumer.consume({ max_messages: 256 });
      stop = () => void messages.stop();
      // The client may have gone while the consumer was made.
      if (res.destroyed || res.socket?.destroyed) stop();
      res.once('close', stop);
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      // An id without data moves the client's Last-Event-ID without an event: a reconnect before any change resumes from here.
      this.send(
        res,
        kept
          ? `retry: 2000\nid: ${after}\n\n`
          : `retry: 2000\nid: ${after}\nevent: reset\ndata: ${JSON.stringify({ after: lastEventId, first_kept: state.first_seq })}\n\n`,
      );
      const heartbeat = setInterval(() => this.send(res, ': heartbeat\n\n'), HEARTBEAT_MS).unref();
      try {
        for await (const msg of messages) {
          const notice = readNotice(msg);
          if (!notice || (filter.project !== undefined && notice.project !== filter.project)) continue;
          if (!this.send(res, `id: ${msg.seq}\nevent: change\ndata: ${JSON.stringify(notice)}\n\n`)) break;
        }
      } finally {
        clearInterval(heartbeat);
        res.off('close', stop);
        stop();
        res.end();
        // The server would drop it after CONSUMER_IDLE_MS anyway; now frees it at once.
        await consumer.delete().catch(() => undefined);
      }
    } finally {
      this.streams.delete(stream);
    }
  }

  /** Writes unless the client is gone or reads too slowly (then it is dropped, so it holds no memory); whether it is still there. */
  private send(res: ServerResponse, text: string): boolean {
    if (res.destroyed || res.writableEnded) return false;
    res.write(text);
    if (res.writableLength <= MAX_UNREAD_BYTES) return true;
    this.log.warn(`dropping an event stream whose client left ${res.writableLength} bytes unread`);
    res.destroy();
    return false;
  }
}

/** A session change notice, or undefined for anything else published on its subjects (anyone on the bus can). */
function readNotice(msg: JsMsg): SessionChangeNotice | undefined {
  try {
    const parsed = SessionChangeNotice.safeParse(msg.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
