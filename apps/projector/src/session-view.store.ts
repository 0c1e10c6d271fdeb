import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { LRUCache } from 'lru-cache';
import { SESSIONS_BUCKET, type ReadModelGroup, type SessionRef, type StoredSession } from '#contracts';
import { JETSTREAM, kvCompareAndSet, NATS_CONNECTION, NATS_STORE, openSessionsBucket, type StoreOptions } from '#nats';
import { READ_MODEL_GROUP } from '#read-models';
import type { ProjectorEnv } from './projector.env.js';

/** A view and the KV revision it was read or written at (0: not in the bucket). */
export interface StoredView {
  view: StoredSession | null;
  revision: number;
}

/** Another writer (a second projector, a rebuild) changed the view since it was read. */
export class ViewConflict extends Error {}

/**
 * Session views in NATS KV, written with compare-and-set on the revision. The views this projector
 * wrote last are kept in memory, so a busy session costs one KV write per batch and no read.
 */
@Injectable()
export class SessionViewStore implements OnModuleInit {
  private kv!: KV;
  /** None where VIEW_CACHE_SESSIONS is 0: every load reads the bucket. */
  private readonly cache?: LRUCache<string, StoredView>;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    @Inject(READ_MODEL_GROUP) private readonly group: ReadModelGroup,
    config: ConfigService<ProjectorEnv, true>,
  ) {
    const max = config.get('VIEW_CACHE_SESSIONS', { infer: true });
    if (max > 0) this.cache = new LRUCache({ max });
  }

  async onModuleInit(): Promise<void> {
    this.kv = await openSessionsBucket(this.nc, this.store);
  }

  /** The session's view in this read-model group. */
  async load(ref: SessionRef): Promise<StoredView> {
    const key = this.group.viewKey(ref);
    const cached = this.cache?.get(key);
    if (cached) return cached;
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return { view: null, revision: entry?.revision ?? 0 };
    return { view: entry.json<StoredSession>(), revision: entry.revision };
  }

  /** Stores `view` if the bucket still holds `expected`: its new revision; throws {@link ViewConflict} otherwise. */
  async save(ref: SessionRef, view: StoredSession, expected: StoredView): Promise<number> {
    const key = this.group.viewKey(ref);
    const revision = await kvCompareAndSet(this.js, SESSIONS_BUCKET, key, JSON.stringify(view), expected.revision).catch((error: unknown) => {
      this.cache?.delete(key);
      throw error;
    });
    if (revision === undefined) {
      this.cache?.delete(key);
      throw new ViewConflict(`view ${key} changed since revision ${expected.revision}`);
    }
    this.cache?.set(key, { view, revision });
    return revision;
  }

  /** Forgets what is cached, e.g. after a conflict, so the next load reads the bucket. */
  forget(ref: SessionRef): void {
    this.cache?.delete(this.group.viewKey(ref));
  }
}
