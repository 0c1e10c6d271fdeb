import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RpcException } from '@nestjs/microservices';
import type { KV } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { changeSubject, QUERY_ERRORS, SessionChangeNotice, type GetSessionRequest, type SessionView } from '#contracts';
import { NATS_CONNECTION, openSessionsBucket } from '#nats';
import type { QueryEnv } from './query.env.js';
import { SessionViewCache } from './session-view.cache.js';

/** Reads session views from the read-model bucket. */
@Injectable()
export class SessionsService implements OnModuleInit {
  private kv!: KV;
  private readonly waitMs: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly cache: SessionViewCache,
    private readonly config: ConfigService<QueryEnv, true>,
  ) {
    this.waitMs = config.get('READ_WAIT_MS', { infer: true });
  }

  async onModuleInit(): Promise<void> {
    this.kv = await openSessionsBucket(this.nc, { replicas: this.config.get('NATS_REPLICAS', { infer: true }) });
  }

  /**
   * The session's view; with `min_seq`, once it holds that stream sequence. A view that does not
   * within READ_WAIT_MS is an error rather than a silently older answer.
   */
  async get({ session_id, min_seq }: GetSessionRequest): Promise<SessionView> {
    let view = this.cache.get(session_id) ?? (await this.read(session_id));
    if (min_seq !== undefined && (view?.last_seq ?? 0) < min_seq) view = await this.waitFor(session_id, min_seq);
    if (min_seq !== undefined && (view?.last_seq ?? 0) < min_seq) {
      throw new RpcException({
        code: QUERY_ERRORS.behind,
        message:
          `Session "${session_id}" is ${view ? `at stream sequence ${view.last_seq}` : 'not'} in the read models, ` +
          `not yet at ${min_seq} (the last write read back): the projector is behind or down; retry shortly.`,
      });
    }
    if (view) return view;
    throw new RpcException({ code: QUERY_ERRORS.notFound, message: `Session "${session_id}" not found.` });
  }

  private async read(sessionId: string): Promise<SessionView | null> {
    const readAt = performance.now();
    const entry = await this.kv.get(sessionId);
    if (entry?.operation !== 'PUT') return null;
    const view = entry.json<SessionView>();
    this.cache.offer(view, readAt);
    return view;
  }

  /** Waits for the projector's change notice that covers `minSeq`, then reads again. */
  private async waitFor(sessionId: string, minSeq: number): Promise<SessionView | null> {
    const notices = this.nc.subscribe(changeSubject(sessionId));
    const timer = setTimeout(() => notices.unsubscribe(), this.waitMs);
    try {
      // Read after subscribing, so a change between the first read and the subscription is not missed.
      const view = await this.read(sessionId);
      if ((view?.last_seq ?? 0) >= minSeq) return view;
      for await (const msg of notices) {
        if ((readNotice(msg)?.last_seq ?? 0) >= minSeq) break;
      }
      return await this.read(sessionId);
    } finally {
      clearTimeout(timer);
      notices.unsubscribe();
    }
  }
}

/** A change notice, or undefined for anything else published on its subject (anyone on the bus can). */
function readNotice(msg: Msg): SessionChangeNotice | undefined {
  try {
    const parsed = SessionChangeNotice.safeParse(msg.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
