// The load every drill runs its fault under: agents (MCP SDK clients over Streamable HTTP, one pytest
// session each) spread over the gateways, each retrying a failed call as the refusal asks (the same call
// again, on a new MCP session after a dropped connection); then the check that every acknowledged outcome
// is stored exactly once in the stream, the session view and the SQL read model.
import { QUERY_PATTERNS, type Outcome, type SessionTest } from '#contracts';
import { McpTestClient, refusalOf } from '../../harness/mcp-client.js';
import { eventually, sleep } from '../../harness/processes.js';
import type { System } from '../../harness/system.js';
import type { Row } from './drill.js';

const OUTCOMES = ['passed', 'failed', 'skipped'] as const satisfies readonly Outcome[];
const environment = { os: 'Linux', python_version: '3.13.1' };
/** A call still failing after this long fails the drill. */
const GIVE_UP_MS = 120_000;
const OWNER = 'local';

type Reply = { response?: Record<string, any>; err?: unknown };

/** One agent: its MCP client (replaced after a dropped connection), its pytest session and what it got acknowledged. */
class Agent {
  /** nodeid → outcome of every acknowledged outcome. */
  readonly acked = new Map<string, (typeof OUTCOMES)[number]>();
  lastSeq = 0;
  next = 0;

  constructor(
    readonly fleet: Fleet,
    readonly index: number,
    readonly url: URL,
    public client: McpTestClient,
    readonly sessionId: string,
  ) {}

  /** The call's answer, retried until it is accepted (a refusal or a dropped connection counted as a failure). */
  async call(name: string, args: Record<string, unknown>): Promise<Record<string, any>> {
    const giveUpAt = Date.now() + GIVE_UP_MS;
    for (;;) {
      const sentAt = performance.now();
      try {
        const result = await this.client.call(name, args);
        if (!result.isError) {
          this.fleet.succeeded(performance.now() - sentAt);
          return result.structuredContent!;
        }
        this.fleet.failed(refusalOf(name, result).code);
      } catch (error) {
        this.fleet.failed(`dropped (${(error as Error).message.slice(0, 60)})`);
        await this.reconnect();
      }
      if (Date.now() > giveUpAt) throw new Error(`agent ${this.index}: ${name} still failing after ${GIVE_UP_MS} ms`);
      await sleep(100);
    }
  }

  /** A new MCP session on the same gateway (the old one may be gone with it); each attempt refused counts as a failure. */
  private async reconnect(): Promise<void> {
    void this.client.close().catch(() => undefined);
    const giveUpAt = Date.now() + GIVE_UP_MS;
    for (;;) {
      try {
        this.client = await McpTestClient.http(this.url, { name: `agent-${this.index}`, key: this.fleet.key });
        this.fleet.reconnects++;
        return;
      } catch (error) {
        this.fleet.failed('reconnect refused');
        if (Date.now() > giveUpAt) throw new Error(`agent ${this.index} could not reconnect: ${(error as Error).message}`, { cause: error });
        await sleep(100);
      }
    }
  }

  async start(): Promise<void> {
    const { seq } = await this.call('record_session_start', { session_id: this.sessionId, environment });
    this.lastSeq = seq;
  }

  /** Writes `count` new outcomes: batches through record_test_outcomes, every fourth call a single record_test_outcome. */
  async write(count: number, batch: number): Promise<void> {
    const end = this.next + count;
    for (let call = 0; this.next < end; call++) {
      const size = call % 4 === 3 ? 1 : Math.min(batch, end - this.next);
      const items = Array.from({ length: size }, (_, i) => {
        const n = this.next + i;
        return { nodeid: `tests/test_agent_${this.index}.py::test_${n}`, outcome: OUTCOMES[n % OUTCOMES.length]!, duration: 0.001 };
      });
      this.next += size;
      const answer =
        size === 1
          ? await this.call('record_test_outcome', { session_id: this.sessionId, ...items[0]! })
          : await this.call('record_test_outcomes', { session_id: this.sessionId, outcomes: items });
      for (const item of items) this.acked.set(item.nodeid, item.outcome);
      this.lastSeq = Math.max(this.lastSeq, answer.seq as number);
      if (this.fleet.resendAcknowledged)
        await this.resend(name(size), size === 1 ? { session_id: this.sessionId, ...items[0]! } : { session_id: this.sessionId, outcomes: items });
    }
  }

  /** A client that cannot tell which calls went through sends an acknowledged one again: it must be answered as a duplicate. */
  private async resend(tool: string, args: Record<string, unknown>): Promise<void> {
    const again = await this.call(tool, args);
    if (again.duplicate !== true) this.fleet.problems.push(`agent ${this.index}: a resent ${tool} was not answered as a duplicate`);
    this.fleet.resent++;
  }

  async finish(): Promise<void> {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const outcome of this.acked.values()) counts[outcome]++;
    const { seq } = await this.call('record_session_finish', {
      session_id: this.sessionId,
      summary: { total_tests: this.acked.size, ...counts, exitstatus: counts.failed ? 1 : 0 },
    });
    this.lastSeq = Math.max(this.lastSeq, seq);
  }
}

const name = (size: number) => (size === 1 ? 'record_test_outcome' : 'record_test_outcomes');

export class Fleet {
  readonly agents: Agent[] = [];
  /** Every failed call: when (performance.now()) and its kind (a refusal code, or a dropped connection). */
  readonly failures: { at: number; kind: string }[] = [];
  /** Times of accepted calls, and their latencies. */
  readonly successes: number[] = [];
  readonly latencies: number[] = [];
  readonly problems: string[] = [];
  reconnects = 0;
  resent = 0;

  private constructor(
    readonly system: System,
    /** Whether every acknowledged call is sent again (a client retrying everything). */
    readonly resendAcknowledged: boolean,
    /** The bearer key every agent sends, where the system has a KEYS_FILE (its grant must be `local`, the sessions' owner here). */
    readonly key: string | undefined,
  ) {}

  /** `agents` agents, agent i on gateway i mod N, each with a started pytest session named `<drill>-<i>`. */
  static async start(
    system: System,
    drill: string,
    agents: number,
    { resendAcknowledged = false, key }: { resendAcknowledged?: boolean; key?: string } = {},
  ): Promise<Fleet> {
    const fleet = new Fleet(system, resendAcknowledged, key);
    const clients = await Promise.all(
      Array.from({ length: agents }, (_, i) => McpTestClient.http(system.gateways[i % system.gateways.length]!.mcpUrl, { name: `agent-${i}`, key })),
    );
    clients.forEach((client, i) => fleet.agents.push(new Agent(fleet, i, system.gateways[i % system.gateways.length]!.mcpUrl, client, `${drill}-${i}`)));
    await Promise.all(fleet.agents.map((agent) => agent.start()));
    return fleet;
  }

  succeeded(latencyMs: number): void {
    this.successes.push(performance.now());
    this.latencies.push(latencyMs);
  }

  failed(kind: string): void {
    this.failures.push({ at: performance.now(), kind });
  }

  /** Writes `total` more outcomes, shared among the agents, all agents at once. */
  async write(total: number, batch: number): Promise<void> {
    const each = Math.ceil(total / this.agents.length);
    await Promise.all(this.agents.map((agent) => agent.write(each, batch)));
  }

  get acknowledged(): number {
    return this.agents.reduce((sum, agent) => sum + agent.acked.size, 0);
  }

  /** Resolves once `count` outcomes are acknowledged (to put a fault in the middle of the load). */
  acknowledgedAtLeast(count: number): Promise<true> {
    return eventually(() => this.acknowledged >= count, GIVE_UP_MS, `${count} acknowledged outcomes`);
  }

  /**
   * Milliseconds from `faultAt` until calls succeeded again after the last failure before `until` (0 when nothing
   * failed in between): `until` keeps a later fault's failures out.
   */
  recoveryAfter(faultAt: number, until = Infinity): number {
    const lastFailure = Math.max(faultAt, ...this.failures.filter(({ at }) => at >= faultAt && at < until).map(({ at }) => at));
    const back = this.successes.find((t) => t > lastFailure) ?? lastFailure;
    return lastFailure === faultAt ? 0 : back - faultAt;
  }

  /** How often each kind of failure was seen (between `from` and `until`). */
  failureKinds(from = 0, until = Infinity): Map<string, number> {
    const kinds = new Map<string, number>();
    for (const { at, kind } of this.failures) if (at >= from && at < until) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    return kinds;
  }

  /** "12× WRITE_UNAVAILABLE, 3× dropped (…)": the failures the agents saw (between `from` and `until`). */
  describeFailures(from = 0, until = Infinity): string {
    return [...this.failureKinds(from, until)].map(([kind, n]) => `${n}× ${kind}`).join(', ') || 'no call failed';
  }

  /**
   * Finishes every session, then checks each against its acknowledged outcomes: in the stream, the session view
   * (get-session) and the SQL read model (get-session-tests), each outcome exactly once, the view's counts and the
   * SQL rows equal to a fold of the stream.
   */
  async verify(row: Omit<Row, 'acknowledged' | 'stored' | 'lost' | 'duplicated' | 'problems'>): Promise<Row> {
    await Promise.all(this.agents.map((agent) => agent.finish()));
    let stored = 0;
    let lost = 0;
    let duplicated = 0;
    const problems = [...this.problems];
    for (const agent of this.agents) {
      const streamed = await this.system.probe.results(agent.sessionId, OWNER);
      const view = await this.view(agent);
      const rows = await this.sqlRows(agent);
      stored += streamed.length;
      const inStream = tally(streamed.map((r) => r.nodeid));
      const inSql = tally(rows.map((r) => r.nodeid));
      for (const nodeid of agent.acked.keys()) if (!inStream.get(nodeid) || !inSql.get(nodeid)) lost++;
      for (const nodeid of new Set([...inStream.keys(), ...inSql.keys()])) if ((inStream.get(nodeid) ?? 0) > 1 || (inSql.get(nodeid) ?? 0) > 1) duplicated++;
      const folded = { passed: 0, failed: 0, skipped: 0, total: streamed.length };
      for (const r of streamed) folded[r.outcome as keyof typeof folded]++;
      const counts = view.counts as Record<string, number>;
      if (Object.entries(folded).some(([k, n]) => counts[k] !== n))
        problems.push(`${agent.sessionId}: view counts ${JSON.stringify(counts)} ≠ fold of the stream ${JSON.stringify(folded)}`);
      if (view.status !== 'finished' || view.summary_matches !== true)
        problems.push(`${agent.sessionId}: view ${view.status}, summary_matches ${view.summary_matches}`);
      const sqlKey = rows.map((r) => `${r.nodeid}=${r.outcome}`).sort();
      const streamKey = streamed.map((r) => `${r.nodeid}=${r.outcome}`).sort();
      if (sqlKey.join('\n') !== streamKey.join('\n'))
        problems.push(`${agent.sessionId}: SQL rows (${rows.length}) ≠ the stream's results (${streamed.length})`);
    }
    return { ...row, acknowledged: this.acknowledged, stored, lost, duplicated, problems };
  }

  private view(agent: Agent): Promise<Record<string, any>> {
    return eventually(
      async () => {
        const { response } = await this.system.probe.request<Reply>(
          QUERY_PATTERNS.getSession,
          { session_id: agent.sessionId, owner: OWNER, min_seq: agent.lastSeq },
          10_000,
        );
        return response && response.last_seq >= agent.lastSeq && response;
      },
      GIVE_UP_MS,
      `the view of ${agent.sessionId} to reach ${agent.lastSeq}`,
    );
  }

  /** Every row of the session in the SQL read model, page by page. */
  private async sqlRows(agent: Agent): Promise<SessionTest[]> {
    const rows: SessionTest[] = [];
    let cursor: string | undefined;
    do {
      const page = await eventually(
        async () => {
          const args = { session_id: agent.sessionId, owner: OWNER, min_seq: agent.lastSeq, limit: 1000, ...(cursor ? { cursor } : {}) };
          return (await this.system.probe.request<Reply>(QUERY_PATTERNS.getSessionTests, args, 10_000)).response;
        },
        GIVE_UP_MS,
        `the SQL rows of ${agent.sessionId}`,
      );
      rows.push(...(page.tests as SessionTest[]));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return rows;
  }

  /** The median latency (ms) of the calls accepted from index `from` on. */
  p50(from = 0): number {
    const sorted = this.latencies.slice(from).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((agent) => agent.client.close().catch(() => undefined)));
  }
}

function tally(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}
