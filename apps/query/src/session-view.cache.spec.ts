import type { ConfigService } from '@nestjs/config';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { changeSubject, type StoredSession } from '#contracts';
import type { QueryEnv } from './query.env.js';
import { SessionViewCache } from './session-view.cache.js';

const view = { session_id: 's1' } as unknown as StoredSession;
const key = 'local.s1';

/** A cache of `max` sessions on a connection whose change notices the test sends with `notice`. */
function cacheOf(max: number) {
  let onNotice: ((error: Error | null, msg: Msg) => void) | undefined;
  const nc = {
    subscribe: (_subject: string, { callback }: { callback: typeof onNotice }) => {
      onNotice = callback;
      return { unsubscribe: () => undefined };
    },
    status: async function* () {},
  } as unknown as NatsConnection;
  const cache = new SessionViewCache(nc, { get: () => max } as unknown as ConfigService<QueryEnv, true>);
  cache.onModuleInit();
  const notice = () => onNotice?.(null, { subject: changeSubject({ owner: 'local', sessionId: 's1' }) } as Msg);
  return { cache, notice };
}

describe('SessionViewCache', () => {
  it('answers a view offered from a read, for a minute counted from the read', () => {
    const { cache } = cacheOf(10);
    cache.offer(key, view, performance.now() - 1_000);
    expect(cache.get(key)).toBe(view);
    cache.offer(key, view, performance.now() - 61_000);
    expect(cache.get(key)).toBeUndefined();
  });

  it('drops a view on its change notice, and refuses one read before the notice', () => {
    const { cache, notice } = cacheOf(10);
    const readAt = performance.now();
    cache.offer(key, view, readAt);
    notice();
    expect(cache.get(key)).toBeUndefined();
    cache.offer(key, view, readAt);
    expect(cache.get(key)).toBeUndefined();
    cache.offer(key, view, performance.now());
    expect(cache.get(key)).toBe(view);
  });

  it('keeps nothing where QUERY_CACHE_SESSIONS is 0', () => {
    const { cache } = cacheOf(0);
    cache.offer(key, view, performance.now());
    expect(cache.get(key)).toBeUndefined();
  });
});
