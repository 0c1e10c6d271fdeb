// Figure 3: reading a session. get-session round trips over NATS request/reply beside a raw responder;
// how long after a write is acknowledged it is visible in get-session, and seen on the live feed.
import { QUERY_PATTERNS, type SessionView } from '#contracts';
import { BACKLOG_OWNER } from '../lib/backlog.js';
import { cfg } from '../lib/config.js';
import { outcomeArgs, startSession } from '../lib/ingest.js';
import { callOk, closeHttpClient, httpClient } from '../lib/load.js';
import { CpuWindow } from '../lib/proc-stats.js';
import type { Report } from '../lib/report.js';
import { nestResponse, rawRoundTrips, timeRequests } from '../lib/requests.js';
import { checkFailed, out, step } from '../lib/run.js';
import { fmtMs, fmtUs, Latencies } from '../lib/stats.js';
import type { System } from '../lib/system.js';
import { writeToFeed } from './live-feed.js';

export interface GetSession {
  rtt: Awaited<ReturnType<typeof getSessionRtt>>;
  visible: { visible: Latencies; write: Latencies };
  feed: { seen: Latencies; write: Latencies };
}

/** `sessionIds`: finished sessions whose views the query app has not read yet. */
export async function getSessionFigure(sys: System, sessionIds: string[]): Promise<GetSession> {
  out(`3. get-session over NATS request/reply (${cfg.rttRequests} sequential requests, finished sessions of the backlog)`);
  const rtt = await step('get-session round trips', () => getSessionRtt(sys, sessionIds));
  const perRequest = (name: string) => fmtUs(rtt.cpu[name]! / cfg.rttRequests);
  out(
    `  get-session                     p50 ${fmtMs(rtt.latency.p50).padStart(8)}   p99 ${fmtMs(rtt.latency.p99).padStart(8)}   (reply ${rtt.replyBytes} B; ` +
      `CPU per request: query app ${perRequest('query')}, nats-server ${perRequest('nats-server')}, bench ${perRequest('bench')})`,
  );
  out(
    `  get-session, first read of a view p50 ${fmtMs(rtt.firstRead.p50).padStart(8)}   p99 ${fmtMs(rtt.firstRead.p99).padStart(8)}   (${rtt.firstRead.count} sessions: the query app reads the KV bucket)`,
  );
  out(`  raw request/reply, ${rtt.replyBytes} B reply  p50 ${fmtMs(rtt.raw.p50).padStart(8)}   p99 ${fmtMs(rtt.raw.p99).padStart(8)}`);
  const visible = await step('write ack → visible in get-session', () => writeToVisible(sys));
  out(
    `  write ack → visible in get-session (min_seq), ${cfg.visibleWrites}×: p50 ${fmtMs(visible.visible.p50)}, p99 ${fmtMs(visible.visible.p99)} ` +
      `(the write itself: p50 ${fmtMs(visible.write.p50)}, p99 ${fmtMs(visible.write.p99)}); read-your-writes verified`,
  );
  const feed = await step('write ack → seen on /api/events', () => writeToFeed(sys.apps.gateway.mcpUrl, sys.apps.query.httpUrl, cfg.visibleWrites));
  out(
    `  write ack → seen on /api/events (SSE), ${cfg.visibleWrites}×: p50 ${fmtMs(feed.seen.p50)}, p99 ${fmtMs(feed.seen.p99)} ` +
      `(the write itself: p50 ${fmtMs(feed.write.p50)}, p99 ${fmtMs(feed.write.p99)})`,
  );
  out();
  return { rtt, visible, feed };
}

export function getSessionRows(report: Report, { rtt, visible, feed }: GetSession): void {
  report.compare('3 get-session p50, cached view', rtt.latency.p50, rtt.raw.p50, fmtMs, undefined, '(raw req/reply)');
  report.compare('3 get-session p99, cached view', rtt.latency.p99, rtt.raw.p99, fmtMs, { kind: 'lower', bound: 1.25 }, '(raw req/reply)');
  report.compare('3 get-session p50, first read of a view', rtt.firstRead.p50, rtt.raw.p50, fmtMs, undefined, '(raw req/reply)');
  report.compare('3 get-session p99, first read of a view', rtt.firstRead.p99, rtt.raw.p99, fmtMs, { kind: 'lower', bound: 2 }, '(raw req/reply)');
  report.add({ figure: '3 write ack → visible, p50 / p99', value: `${fmtMs(visible.visible.p50)} / ${fmtMs(visible.visible.p99)}` });
  const feedMet = feed.seen.p99 < 100;
  if (!feedMet) checkFailed(`write ack → seen on /api/events: p99 ${fmtMs(feed.seen.p99)} ≥ 100 ms`);
  report.add({
    figure: '3 write ack → seen on /api/events, p99',
    value: fmtMs(feed.seen.p99),
    reference: `${fmtMs(visible.visible.p99)} (→ visible in get-session)`,
    target: '< 100 ms',
    met: feedMet ? 'yes' : 'NO',
  });
}

export const getSessionNote = ({ rtt }: GetSession): string =>
  `- get-session: ${cfg.rttRequests} sequential requests (plain JSON body) against finished sessions whose views the query app has cached (it drops a view when its change notice arrives), after a first read of each; the first reads (view from the KV bucket: two round trips) are a row of their own. Reference: a trivial responder in its own process with a reply of the same size (${rtt.replyBytes} B).`;

async function getSessionRtt(sys: System, sessionIds: string[]) {
  const body = (i: number) => ({ session_id: sessionIds[i % sessionIds.length], owner: BACKLOG_OWNER });
  let replyBytes = 0;
  const ask = async (i: number) => {
    replyBytes = (await nestResponse<SessionView>(sys.nc, QUERY_PATTERNS.getSession, body(i), 5000)).bytes;
  };
  // Warm the JIT on a few sessions; then the first read of every other session (the query app reads
  // the bucket), then steady state (views in the query app's cache, as for a dashboard polling).
  const warmUp = Math.min(300, Math.floor(sessionIds.length / 3));
  for (let i = 0; i < warmUp; i++) await ask(i);
  const firstRead = await timeRequests(sessionIds.length - warmUp, (i) => ask(warmUp + i));
  const cpuWindow = new CpuWindow({ query: sys.apps.query.pid, 'nats-server': sys.natsPid });
  cpuWindow.start();
  const latency = await timeRequests(cfg.rttRequests, ask);
  const cpu = cpuWindow.stop().micros;
  const raw = await rawRoundTrips(sys, {
    name: 'raw-responder-rtt',
    bytes: replyBytes,
    count: cfg.rttRequests,
    warmup: 300,
    body: (i) => JSON.stringify(body(i)),
  });
  return { latency, firstRead, raw, replyBytes, cpu };
}

/** Writes one result at a time; for each, the write's latency and ack → visible in get-session (min_seq: read-your-writes). */
async function writeToVisible(sys: System) {
  const mcp = await httpClient(sys.apps.gateway.mcpUrl, 'bench-visible');
  try {
    const { id: sessionId } = await startSession(mcp.client);
    const visible = new Latencies();
    const write = new Latencies();
    let last: SessionView | undefined;
    for (let i = 0; i < cfg.visibleWrites; i++) {
      const t0 = performance.now();
      const { seq } = await callOk(mcp.client, 'record_test_outcome', outcomeArgs(`tests/test_visible.py::test_${i}`));
      const acked = performance.now();
      const reply = await sys.getSession({ session_id: sessionId, owner: BACKLOG_OWNER, min_seq: seq });
      visible.add(performance.now() - acked);
      write.add(acked - t0);
      if (!reply.response || reply.response.last_seq < seq) {
        throw new Error(`write seq ${seq} not visible in get-session: ${JSON.stringify(reply.err ?? reply.response?.last_seq)}`);
      }
      last = reply.response;
    }
    if (last?.counts.total !== cfg.visibleWrites) throw new Error(`read-your-writes: ${cfg.visibleWrites} written, view counts.total ${last?.counts.total}`);
    return { visible, write };
  } finally {
    await closeHttpClient(mcp);
  }
}
