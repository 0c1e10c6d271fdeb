import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { CHANGES_SUBJECTS, sessionKeyOfChangeSubject, type StoredSession } from '#contracts';
import { NATS_CONNECTION } from '#nats';
import { Lru } from '#platform';
import type { QueryEnv } from './query.env.js';

/**
 * Change notices travel on core NATS, at most once: one missed while disconnected is made good by
 * clearing the cache on reconnect, and no entry is trusted longer than this anyway.
 */
const MAX_AGE_MS = 60_000;

interface Entry {
  view: StoredSession;
  cachedAt: number;
}

/**
 * Session views read recently, answered from memory (a read then costs one NATS round trip, not
 * two). Any change notice for a session drops its entry; the notice's subject names the session,
 * so its body is not even read (anything published there only costs a cache miss).
 */
@Injectable()
export class SessionViewCache implements OnModuleInit, OnModuleDestroy {
  private readonly entries: Lru<string, Entry>;
  /** When each session's last change notice arrived, so that a read racing a change is not cached. */
  private readonly changedAt: Lru<string, number>;
  private readonly enabled: boolean;
  private notices?: Subscription;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    config: ConfigService<QueryEnv, true>,
  ) {
    const capacity = config.get('QUERY_CACHE_SESSIONS', { infer: true });
    this.enabled = capacity > 0;
    this.entries = new Lru(capacity);
    this.changedAt = new Lru(capacity);
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    this.notices = this.nc.subscribe(CHANGES_SUBJECTS, {
      callback: (_error, msg) => {
        const key = sessionKeyOfChangeSubject(msg.subject);
        this.changedAt.set(key, performance.now());
        this.entries.delete(key);
      },
    });
    void this.clearOnReconnect();
  }

  onModuleDestroy(): void {
    this.notices?.unsubscribe();
  }

  /** The view of the session with this key (`owner.sessionId`). */
  get(key: string): StoredSession | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (performance.now() - entry.cachedAt <= MAX_AGE_MS) return entry.view;
    this.entries.delete(key);
    return undefined;
  }

  /** Keeps a view read from the bucket from `readAt` (performance.now()) on, unless it changed since. */
  offer(key: string, view: StoredSession, readAt: number): void {
    if (!this.enabled || (this.changedAt.peek(key) ?? -1) >= readAt) return;
    this.entries.set(key, { view, cachedAt: readAt });
  }

  private async clearOnReconnect(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'reconnect') this.entries.clear();
    }
  }
}
