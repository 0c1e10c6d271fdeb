// Reads over NATS request/reply: the apps' answers, timed sequences of requests, and their reference
// (a trivial responder with a reply of the same size).
import type { NatsConnection } from '@nats-io/transport-node';
import { distEntry } from '../../test/harness/apps.js';
import { Proc } from '../../test/harness/processes.js';
import { onCleanup } from './run.js';
import { Latencies } from './stats.js';
import type { System } from './system.js';

/** What a Nest microservice answers over NATS. */
interface NestReply<T> {
  id?: string;
  response?: T;
  err?: { code?: string; message?: string } | string;
  isDisposed?: boolean;
}

/** A request to one of the apps: its reply (response or err) and the reply's size in bytes. */
export async function nestRequest<T>(nc: NatsConnection, pattern: string, body: object, timeout = 10_000): Promise<NestReply<T> & { bytes: number }> {
  const reply = await nc.request(pattern, JSON.stringify(body), { timeout });
  return { ...reply.json<NestReply<T>>(), bytes: reply.data.length };
}

/** The same, for a request that must be answered with a response: an error throws. */
export async function nestResponse<T>(nc: NatsConnection, pattern: string, body: object, timeout = 10_000): Promise<{ response: T; bytes: number }> {
  const reply = await nestRequest<T>(nc, pattern, body, timeout);
  if (reply.response === undefined) throw new Error(`${pattern} answered ${JSON.stringify(reply.err ?? reply)}`);
  return { response: reply.response, bytes: reply.bytes };
}

/** Latencies of `count` sequential requests (`request(i)` for i = 0, 1, …), after `warmup` untimed ones. */
export async function timeRequests(count: number, request: (i: number) => Promise<unknown>, warmup = 0): Promise<Latencies> {
  for (let i = 0; i < warmup; i++) await request(i);
  const latencies = new Latencies();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await request(i);
    latencies.add(performance.now() - t);
  }
  return latencies;
}

/**
 * The reference for a read: `count` requests (after `warmup`) to a trivial responder in a process of
 * its own, as the query app is (the same hops and processes), replying with `bytes` bytes.
 */
export async function rawRoundTrips(
  sys: System,
  { name, bytes, count, warmup, body }: { name: string; bytes: number; count: number; warmup: number; body: (i: number) => string },
): Promise<Latencies> {
  const subject = `bench.${name}.echo`;
  const responder = Proc.spawn(name, process.execPath, [distEntry('bench/raw-responder.js')], {
    NATS_URL: sys.nats.url,
    RESPONDER_SUBJECT: subject,
    RESPONDER_BYTES: String(bytes),
  });
  onCleanup(name, () => responder.stop());
  try {
    await responder.waitFor(/ready/);
    const ask = async (i: number) => {
      const reply = await sys.nc.request(subject, body(i), { timeout: 5000 });
      if (reply.data.length !== bytes) throw new Error(`${name}: a reply of ${reply.data.length} B, not ${bytes}`);
    };
    return await timeRequests(count, ask, warmup);
  } finally {
    await responder.stop();
  }
}
