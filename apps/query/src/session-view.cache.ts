import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CHANGES_SUBJECTS, SessionChangeNotice, type SessionView } from '#contracts';
import { NATS_CONNECTION } from '#nats';
import { Lru } from '#platform';
import type { QueryEnv } from './query.env.js';

/**
 * Change notices travel on core NATS, at most once: one missed while disconnected is made good by
 * clearing the cache on reconnect, and no entry is trusted longer than this anyway.
 */
const MAX_AGE_MS = 60_000;

interface Entry {
  view: SessionView;
  cachedAt: number;
}

/**
 * Session views read recently, answered from memory (a read then costs one NATS round trip, not
 * two). An entry is dropped as soon as the projector's change notice says its session moved on.
 */
@Injectable()
export class SessionViewCache implements OnModuleInit, OnModuleDestroy {
  private readonly entries: Lru<string, Entry>;
  /** The newest last_seq announced per session, so that a read racing a change is not cached. */
  private readonly announced: Lru<string, number>;
  private readonly enabled: boolean;
  private notices?: Subscription;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    config: ConfigService<QueryEnv, true>,
  ) {
    const capacity = config.get('QUERY_CACHE_SESSIONS', { infer: true });
    this.enabled = capacity > 0;
    this.entries = new Lru(capacity);
    this.announced = new Lru(capacity);
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    this.notices = this.nc.subscribe(CHANGES_SUBJECTS, {
      callback: (error, msg) => {
        const notice = error ? undefined : readNotice(msg);
        if (notice) this.announce(notice);
      },
    });
    void this.clearOnReconnect();
  }

  onModuleDestroy(): void {
    this.notices?.unsubscribe();
  }

  get(sessionId: string): SessionView | undefined {
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    if (Date.now() - entry.cachedAt <= MAX_AGE_MS) return entry.view;
    this.entries.delete(sessionId);
    return undefined;
  }

  /** Keeps a view just read from the bucket, unless a newer one was announced meanwhile. */
  offer(view: SessionView): void {
    if ((this.announced.peek(view.session_id) ?? 0) > view.last_seq) return;
    this.entries.set(view.session_id, { view, cachedAt: Date.now() });
  }

  private announce({ session_id, last_seq }: SessionChangeNotice): void {
    this.announced.set(session_id, last_seq);
    const entry = this.entries.peek(session_id);
    if (entry && entry.view.last_seq < last_seq) this.entries.delete(session_id);
  }

  private async clearOnReconnect(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'reconnect') this.entries.clear();
    }
  }
}

/**
 * A change notice, or undefined for anything else published on the subject: anyone on the bus can
 * publish there, and a throw inside a subscription callback would stop this connection's reader.
 */
export function readNotice(msg: Msg): SessionChangeNotice | undefined {
  try {
    const parsed = SessionChangeNotice.safeParse(msg.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
