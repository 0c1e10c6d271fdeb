import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { COUNTERS_BUCKET } from '#contracts';
import { windowAt, type AppliedLimit } from '#domain';
import { JETSTREAM, kvCompareAndSet, NATS_CONNECTION, NATS_STORE, openCountersBucket, type StoreOptions } from '#nats';
import { LRUCache } from 'lru-cache';

/** Counts known from this gateway's own last write, so an uncontended take is one round trip. */
interface Count {
  value: number;
  revision: number;
}

/** A quota taken from one count: the count's key, and when its window ends. */
export interface Taken {
  key: string;
  end: number;
}

export type Taking = { ok: true; taken: Taken[] } | { ok: false; limit: AppliedLimit; resetsAt: number };

/** Compare-and-set attempts on one count before giving up: only reached under a storm of gateways. */
const MAX_ATTEMPTS = 100;
/** A give-back that NATS did not take is tried again this often, until its window has ended. */
const GIVE_BACK_RETRY_MS = 1_000;
/** Counts remembered, the least recently used forgotten beyond (a forgotten one costs one read). */
const REMEMBERED = 10_000;

/**
 * Limit counts in NATS KV, one key per counter, holder and window, changed by compare-and-set on
 * the key's revision (kvCompareAndSet: exact on a cluster too): every gateway sharing the NATS
 * enforces one exact limit. Takes of one key are queued in this process, so only other gateways
 * cause retries.
 */
@Injectable()
export class LimitCounters implements OnModuleInit {
  private kv!: KV;
  private readonly counts = new LRUCache<string, Count>({ max: REMEMBERED });
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    this.kv = await openCountersBucket(this.nc, this.store);
  }

  /** Takes one from each limit's count, or none: a limit already at its max gives back what was taken. */
  async take(limits: AppliedLimit[], now: number): Promise<Taking> {
    const taken: Taken[] = [];
    for (const applied of limits) {
      const { start, end } = windowAt(applied.limit, now);
      const key = `${applied.key}.${start / 1000}`;
      let ok: boolean;
      try {
        ok = await this.queued(key, () => this.change(key, +1, applied.limit.max));
      } catch (error) {
        await this.giveBack(taken);
        throw error;
      }
      if (!ok) {
        await this.giveBack(taken);
        return { ok: false, limit: applied, resetsAt: end };
      }
      taken.push({ key, end });
    }
    return { ok: true, taken };
  }

  /**
   * Returns what a call took and did not use (it was refused or failed). While NATS is unreachable
   * (a failed call's likely cause) it is tried again until the window ends: after that, nothing is
   * left to give back.
   */
  async giveBack(taken: Taken[]): Promise<void> {
    await Promise.all(
      taken.map(async ({ key, end }) => {
        for (;;) {
          try {
            return void (await this.queued(key, () => this.change(key, -1, Infinity)));
          } catch {
            if (Date.now() + GIVE_BACK_RETRY_MS >= end) return;
            await new Promise((resolve) => setTimeout(resolve, GIVE_BACK_RETRY_MS));
          }
        }
      }),
    );
  }

  private async change(key: string, by: 1 | -1, max: number): Promise<boolean> {
    let count = this.counts.get(key);
    let fresh = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (!count) {
        count = await this.read(key);
        fresh = true;
      }
      const next = count.value + by;
      if (next < 0) return true;
      if (next > max) {
        // Another gateway may have given some back since this one last looked.
        if (fresh) return false;
        count = undefined;
        continue;
      }
      const revision = await kvCompareAndSet(this.js, COUNTERS_BUCKET, key, String(next), count.revision);
      if (revision !== undefined) {
        this.counts.set(key, { value: next, revision });
        return true;
      }
      count = undefined;
    }
    throw new Error(`limit count ${key} is changing too fast to take (${MAX_ATTEMPTS} compare-and-set conflicts)`);
  }

  private async read(key: string): Promise<Count> {
    const entry = await this.kv.get(key);
    if (!entry) return { value: 0, revision: 0 };
    return { value: entry.operation === 'PUT' ? Number(entry.string()) || 0 : 0, revision: entry.revision };
  }

  /** Runs `change` after the changes of the same key queued before it. */
  private queued<T>(key: string, change: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(key) ?? Promise.resolve()).then(change, change);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => this.queues.get(key) === tail && this.queues.delete(key));
    return run;
  }
}
