// JetStream without the apps: the references the ingest and projection figures are measured against.
import { randomUUID } from 'node:crypto';
import { StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { backlogEvent } from './backlog.js';
import { Latencies } from './stats.js';
import type { System } from './system.js';

/** Runs `run` with a file-backed stream of its own (subjects `<prefix>.*`), deleted afterwards. */
export async function withScratchStream<T>(jsm: JetStreamManager, name: string, prefix: string, run: () => Promise<T>): Promise<T> {
  await jsm.streams.add({ name, subjects: [`${prefix}.*`], storage: StorageType.File });
  try {
    return await run();
  } finally {
    await jsm.streams.delete(name).catch(() => undefined);
  }
}

export interface RawPublish {
  /** Acknowledged publishes per second. */
  rate: number;
  /** Each publish, until its ack. */
  latency: Latencies;
  /** The payload: a one-result outcome event. */
  bytes: number;
}

/** Publishes one-result outcome events for `ms`, `inFlight` awaiting their acks at once, after `warmupMs` of the same untimed. */
export async function rawPublish(sys: System, { inFlight, warmupMs, ms }: { inFlight: number; warmupMs: number; ms: number }): Promise<RawPublish> {
  const payload = JSON.stringify(backlogEvent(randomUUID(), 2, 100, new Date().toISOString()));
  const publishFor = async (forMs: number, latency: Latencies) => {
    let acked = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (performance.now() - t0 < forMs) {
        const sent = performance.now();
        await sys.js.publish('bench.rawpub.x', payload);
        latency.add(performance.now() - sent);
        acked++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return acked / ((performance.now() - t0) / 1000);
  };
  return withScratchStream(sys.jsm, 'BENCH_RAW_PUBLISH', 'bench.rawpub', async () => {
    await publishFor(warmupMs, new Latencies());
    const latency = new Latencies();
    return { rate: await publishFor(ms, latency), latency, bytes: Buffer.byteLength(payload) };
  });
}
