import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { LRUCache } from 'lru-cache';
import { CHANGES_SUBJECTS, sessionKeyOfChangeSubject, type StoredSession } from '#contracts';
import { NATS_CONNECTION } from '#nats';
import type { QueryEnv } from './query.env.js';

/**
 * Change notices travel on core NATS, at most once: one missed while disconnected is made good by
 * clearing the cache on reconnect, and no entry is trusted longer than this anyway.
 */
const MAX_AGE_MS = 60_000;

/** The views, no older than MAX_AGE_MS; and when each session's last change notice arrived, so that a read racing a change is not cached. */
interface Caches {
  views: LRUCache<string, StoredSession>;
  changedAt: LRUCache<string, number>;
}

/**
 * Session views read recently, answered from memory (a read then costs one NATS round trip, not
 * two). Any change notice for a session drops its entry; the notice's subject names the session,
 * so its body is not even read (anything published there only costs a cache miss).
 */
@Injectable()
export class SessionViewCache implements OnModuleInit, OnModuleDestroy {
  /** None where QUERY_CACHE_SESSIONS is 0: every read goes to the bucket. */
  private readonly caches?: Caches;
  private notices?: Subscription;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    config: ConfigService<QueryEnv, true>,
  ) {
    const max = config.get('QUERY_CACHE_SESSIONS', { infer: true });
    // lru-cache's ages are performance.now() times, as readAt is.
    if (max > 0) this.caches = { views: new LRUCache({ max, ttl: MAX_AGE_MS }), changedAt: new LRUCache({ max }) };
  }

  onModuleInit(): void {
    const { caches } = this;
    if (!caches) return;
    this.notices = this.nc.subscribe(CHANGES_SUBJECTS, {
      callback: (_error, msg) => {
        const key = sessionKeyOfChangeSubject(msg.subject);
        caches.changedAt.set(key, performance.now());
        caches.views.delete(key);
      },
    });
    void this.clearOnReconnect(caches.views);
  }

  onModuleDestroy(): void {
    this.notices?.unsubscribe();
  }

  /** The view of the session with this key (`owner.sessionId`). */
  get(key: string): StoredSession | undefined {
    return this.caches?.views.get(key);
  }

  /** Keeps a view read from the bucket from `readAt` (performance.now()) on, unless it changed since. */
  offer(key: string, view: StoredSession, readAt: number): void {
    if (!this.caches || (this.caches.changedAt.peek(key) ?? -Infinity) >= readAt) return;
    // Its age counts from the read, not from now.
    this.caches.views.set(key, view, { start: readAt });
  }

  private async clearOnReconnect(views: Caches['views']): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'reconnect') views.clear();
    }
  }
}
