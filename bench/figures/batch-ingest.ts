// Figure 5: outcomes recorded per second through record_test_outcomes (what the pytest plugin and the
// importers send), beside raw JetStream publishes with 256 in flight.
import { randomUUID } from 'node:crypto';
import { StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { LIMITS } from '#contracts';
import { backlogEvent } from '../lib/backlog.js';
import { callOk, closeHttpClient, httpClient, runLoad, type HttpMcpClient, type LoadResult } from '../lib/load.js';
import type { CpuWindow } from '../lib/proc-stats.js';

/** Publishes one-result outcome events for `ms`, keeping `inFlight` publishes unacknowledged at once: msgs/s. */
export async function rawPublishInFlight(js: JetStreamClient, jsm: JetStreamManager, { inFlight, ms }: { inFlight: number; ms: number }) {
  const stream = 'BENCH_RAW_PUBLISH_IN_FLIGHT';
  await jsm.streams.add({ name: stream, subjects: ['bench.rawpubflight.*'], storage: StorageType.File });
  try {
    const payload = JSON.stringify(backlogEvent(randomUUID(), 2, 100, new Date().toISOString()));
    let acked = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (performance.now() - t0 < ms) {
        await js.publish('bench.rawpubflight.x', payload);
        acked++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return { rate: acked / ((performance.now() - t0) / 1000), bytes: Buffer.byteLength(payload) };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
  }
}

export interface BatchIngestSession {
  id: string;
  acked: number;
  lastSeq: number;
}

/**
 * `lanes` MCP clients over Streamable HTTP, each its own pytest session, each sending full
 * record_test_outcomes batches of new outcomes, one call in flight per client.
 */
export async function batchIngest(
  url: URL,
  { lanes, warmupMs, measureMs, cpu, startArgs }: { lanes: number; warmupMs: number; measureMs: number; cpu: CpuWindow; startArgs: Record<string, unknown> },
): Promise<{ res: LoadResult; sessions: BatchIngestSession[]; batchSize: number }> {
  const batchSize = LIMITS.batchOutcomes;
  const clients: HttpMcpClient[] = [];
  try {
    for (let i = 0; i < lanes; i++) clients.push(await httpClient(url, 'bench-batch'));
    const sessions = await Promise.all(
      clients.map(async ({ client }) => ({ id: (await callOk(client, 'record_session_start', startArgs)).session_id as string, acked: 0, lastSeq: 0 })),
    );
    const res = await runLoad({
      lanes,
      warmupMs,
      measureMs,
      cpu,
      call: async (lane, i) => {
        const outcomes = Array.from({ length: batchSize }, (_, k) => ({ nodeid: `tests/test_ci.py::test_${i}_${k}`, outcome: 'passed', duration: 0.001 }));
        const answer = await callOk(clients[lane]!.client, 'record_test_outcomes', { session_id: sessions[lane]!.id, outcomes });
        if (answer.recorded !== batchSize) throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
        sessions[lane]!.acked += batchSize;
        sessions[lane]!.lastSeq = Math.max(sessions[lane]!.lastSeq, answer.seq as number);
      },
    });
    return { res, sessions, batchSize };
  } finally {
    await Promise.all(clients.map(closeHttpClient));
  }
}
