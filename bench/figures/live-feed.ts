// Figure 3's live feed: how long after a write is acknowledged its change arrives on the query
// app's Server-Sent Events (`/api/events`), as a dashboard sees it.
import { request, type ClientRequest } from 'node:http';
import { cfg } from '../lib/config.js';
import { START_ARGS } from '../lib/ingest.js';
import { callOk, closeHttpClient, httpClient } from '../lib/load.js';
import { Latencies } from '../lib/stats.js';

/** Arrival times of a session's change notices on /api/events, by the session's total count. */
class ChangeFeed {
  private readonly seenAt = new Map<number, number>();
  private waiting?: { total: number; resolve: (at: number) => void };
  private buffer = '';

  private constructor(private readonly req: ClientRequest) {}

  static open(url: URL): Promise<ChangeFeed> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`${url.pathname} answered ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => feed.receive(chunk, performance.now()));
        resolve(feed);
      });
      const feed = new ChangeFeed(req);
      req.on('error', reject);
      req.end();
    });
  }

  /** When the notice with counts.total ≥ `total` arrived (waiting for it). */
  seen(total: number, timeoutMs = 10_000): Promise<number> {
    const at = [...this.seenAt].find(([seenTotal]) => seenTotal >= total)?.[1];
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no change with ${total} results on /api/events within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = { total, resolve: (seenAt) => (clearTimeout(timer), resolve(seenAt)) };
    });
  }

  close(): void {
    this.req.destroy();
  }

  private receive(chunk: string, at: number): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const data = /^data: (.*)$/m.exec(this.buffer.slice(0, end))?.[1];
      this.buffer = this.buffer.slice(end + 2);
      const total = data === undefined ? undefined : (JSON.parse(data) as { counts: { total: number } | null }).counts?.total;
      if (total === undefined) continue;
      this.seenAt.clear();
      this.seenAt.set(total, at);
      if (this.waiting && total >= this.waiting.total) {
        this.waiting.resolve(at);
        this.waiting = undefined;
      }
    }
  }
}

/** Writes `writes` results one at a time; for each, the write's latency and ack → seen on /api/events. */
export async function writeToFeed(gateway: URL, dashboard: URL, writes: number): Promise<{ seen: Latencies; write: Latencies }> {
  const mcp = await httpClient(gateway, 'bench-feed');
  const sessionId = `feed-${Date.now()}`;
  const feed = await ChangeFeed.open(new URL(`api/events?session_id=${sessionId}`, dashboard));
  try {
    await callOk(mcp.client, 'record_session_start', { ...START_ARGS, session_id: sessionId });
    const seen = new Latencies();
    const write = new Latencies();
    for (let i = 1; i <= writes; i++) {
      const t0 = performance.now();
      await callOk(mcp.client, 'record_test_outcome', { session_id: sessionId, nodeid: `tests/test_feed.py::test_${i}`, outcome: 'passed', duration: 0.001 });
      const acked = performance.now();
      write.add(acked - t0);
      // A notice may arrive before the ack does: that write was seen at once.
      seen.add(Math.max(0, (await feed.seen(i)) - acked));
    }
    return { seen, write };
  } finally {
    feed.close();
    await closeHttpClient(mcp);
  }
}

export const liveFeedNote = (): string =>
  `- Live feed: ${cfg.visibleWrites} record_test_outcome calls one at a time into one session, each timed from its answer until the change notice holding it arrives on the query app's \`/api/events\` (a dashboard's view; 0 when it arrived before the answer).`;
