import type { ConfigService } from '@nestjs/config';
import { describe, expect, it } from 'vitest';
import { LIMITS, type PytestEvent } from '#contracts';
import { decide, evolve, type OutcomeInput, type SessionCommand, type SessionState } from '#domain';
import type { GatewayEnv } from '../gateway.env.js';
import { Registry } from 'prom-client';
import { Refused } from '../mcp/refusal-result.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { WrongLastSequence, type SessionEventLog } from './session-event-log.js';
import { MAX_CONFLICT_ROUNDS, SessionWriter } from './session-writer.js';

/*
 * The writer's rounds when another gateway writes to the same session between the events of one large
 * record_test_outcomes call. The log here is the stream's rule in memory (expected last sequence, or
 * conflict), so the interleaving that two gateways produce only by chance can be set up exactly.
 */

const owner = 'ci';
const sessionId = 'large';
const at = '2026-12-01T00:00:00.000Z';
const us = { agent: 'runner-1', grant: owner, via: 'http' };
const them = { agent: 'runner-2', grant: owner, via: 'http' };
let ids = 0;
const deps = { newEventId: () => `e${++ids}` };

/** One session's events with their sequences; `afterAppend` runs once an append is stored (another writer's turn). */
class MemoryLog {
  readonly events: { seq: number; event: PytestEvent }[] = [];
  afterAppend?: (count: number) => void;
  /** Runs as an append arrives, before it is checked: another writer getting there first. */
  beforeAppend?: () => void;
  appends = 0;
  /** Loads answered as by a replica that has not seen the session yet (nothing folded). */
  laggingLoads = 0;

  async append(event: PytestEvent, state: SessionState) {
    this.appends++;
    this.beforeAppend?.();
    if (state.lastSeq !== (this.events.at(-1)?.seq ?? 0)) throw new WrongLastSequence('wrong last sequence');
    const seq = this.store(event);
    this.afterAppend?.(this.events.length);
    return { seq, stream: 'PYTEST_EVENTS', duplicate: false };
  }

  catchUps = 0;

  async catchUp(state: SessionState) {
    this.catchUps++;
    if (this.laggingLoads > 0) {
      this.laggingLoads--;
      return state;
    }
    return this.fold(state);
  }

  async leaderHasMore(state: SessionState) {
    return (this.events.at(-1)?.seq ?? 0) > state.lastSeq;
  }

  /** Another gateway's command, decided against the log and stored at once. */
  write(command: SessionCommand) {
    for (const event of decide(this.fold(this.initial()), [command], deps).events) this.store(event);
  }

  private store(event: PytestEvent): number {
    this.events.push({ seq: this.events.length + 1, event });
    return this.events.length;
  }

  private fold(state: SessionState): SessionState {
    for (const { seq, event } of this.events) if (seq > state.lastSeq) state = evolve(state, event, seq);
    return state;
  }

  private initial(): SessionState {
    return { owner, sessionId, status: 'none', version: 0, lastSeq: 0, results: new Map(), latest: new Map() };
  }
}

const configOf = (settings: Partial<GatewayEnv>) => ({ get: (key: keyof GatewayEnv) => settings[key] }) as ConfigService<GatewayEnv, true>;
const config = configOf({ WRITE_CACHE_RESULTS: 1000, WRITE_CACHE_KEEP_SECONDS: 60 });
const base = { owner, sessionId, at };
const traceback = 'x'.repeat(LIMITS.errorBytes);
const item = (i: number): OutcomeInput => ({ nodeid: `t::${i}`, outcome: 'failed', duration: 1, error: 'E', longrepr: traceback });
const batch = (count: number): SessionCommand => ({ ...base, type: 'RecordOutcomes', actor: us, outcomes: Array.from({ length: count }, (_, i) => item(i)) });

async function setUp() {
  const log = new MemoryLog();
  log.write({ ...base, type: 'StartSession', actor: us, data: { environment: { os: 'Linux', python_version: '3.12' } } });
  return { log, writer: new SessionWriter(log as unknown as SessionEventLog, new GatewayMetrics(new Registry()), config) };
}

describe('SessionWriter: a batch spread over several events while another writer changes the session', () => {
  it('stores the rest after the other write, and counts what it stored first as its own', async () => {
    const { log, writer } = await setUp();
    log.afterAppend = (count) => {
      if (count !== 2) return;
      log.afterAppend = undefined;
      log.write({ ...base, type: 'RecordOutcome', actor: them, outcome: { nodeid: 'other', outcome: 'passed', duration: 1 } });
    };
    const result = await writer.execute(batch(20));
    expect(result).toMatchObject({ duplicate: false, duplicates: 0 });
    const stored = log.events.flatMap(({ event }) => (event.type === 'TestOutcomesRecorded' ? event.data.results.map((r) => r.nodeid) : []));
    expect(stored.filter((nodeid) => nodeid.startsWith('t::')).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `t::${i}`).sort());
    expect(result.seq).toBe(log.events.at(-1)!.seq);
  });

  it('refuses the rest as PARTLY_STORED, saying how many were stored, when the other write finished the session', async () => {
    const { log, writer } = await setUp();
    log.afterAppend = (count) => {
      if (count !== 2) return;
      log.afterAppend = undefined;
      const summary = { total_tests: 0, passed: 0, failed: 0, skipped: 0, exitstatus: 0 };
      log.write({ ...base, type: 'FinishSession', actor: them, summary });
    };
    const refusal = await writer.execute(batch(20)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(Refused);
    const { code, message } = refusal as Refused;
    const storedFirst = (log.events[1]!.event as Extract<PytestEvent, { type: 'TestOutcomesRecorded' }>).data.results.length;
    expect(code).toBe('PARTLY_STORED');
    expect(message).toMatch(
      new RegExp(
        `^${storedFirst} of this call's 20 outcomes were stored before the rest was refused; .* The cause: \\[SESSION_FINISHED\\] outcomes\\.${storedFirst}: `,
      ),
    );
  });
});

describe('SessionWriter: the write cache', () => {
  it('keeps a session written within WRITE_CACHE_KEEP_SECONDS beyond the budget, but not beyond twice it', async () => {
    const passed = (i: number): OutcomeInput => ({ nodeid: `n::${i}`, outcome: 'passed', duration: 0 });
    const small = (count: number): SessionCommand => ({
      ...base,
      type: 'RecordOutcomes',
      actor: us,
      outcomes: Array.from({ length: count }, (_, i) => passed(i)),
    });
    for (const [results, reloads] of [
      [15, 1],
      [25, 2],
    ] as const) {
      const { log } = await setUp();
      const writer = new SessionWriter(
        log as unknown as SessionEventLog,
        new GatewayMetrics(new Registry()),
        configOf({ WRITE_CACHE_RESULTS: 10, WRITE_CACHE_KEEP_SECONDS: 60 }),
      );
      await writer.execute(small(results));
      await new Promise((drained) => setImmediate(drained)); // the writer settles calls before it trims its cache
      await writer.execute({ ...base, type: 'RecordOutcome', actor: us, outcome: passed(0) });
      expect(log.catchUps, `${results} results cached against a budget of 10`).toBe(reloads);
    }
  });
});

describe('SessionWriter: other writers and lagging replicas', () => {
  const outcome = (nodeid: string, actor = us): SessionCommand => ({
    ...base,
    type: 'RecordOutcome',
    actor,
    outcome: { nodeid, outcome: 'passed', duration: 1 },
  });

  it('catches up and decides again each time another writer came first, until its write gets through', async () => {
    const { log, writer } = await setUp();
    let others = 3;
    log.beforeAppend = () => {
      if (others-- > 0) log.write(outcome(`t::theirs-${others}`, them));
    };
    const result = await writer.execute(outcome('t::ours'));
    expect(result).toMatchObject({ seq: 5, duplicate: false });
    expect(log.appends).toBe(4);
    expect(log.events.map(({ event }) => event.type)).toEqual(['SessionStarted', ...Array(4).fill('TestOutcomesRecorded')]);
  });

  it(`gives up after ${MAX_CONFLICT_ROUNDS} rounds of contention with WRITE_CONTENDED, having written nothing`, async () => {
    const { log, writer } = await setUp();
    let others = 0;
    log.beforeAppend = () => log.write(outcome(`t::theirs-${others++}`, them));
    const refusal = await writer.execute(outcome('t::ours')).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(Refused);
    expect(refusal).toMatchObject({ code: 'WRITE_CONTENDED' });
    expect(log.appends).toBe(MAX_CONFLICT_ROUNDS);
    expect(log.events.every(({ event }) => event.type !== 'TestOutcomesRecorded' || event.actor.agent === them.agent)).toBe(true);
  });

  it('asks the stream leader before calling a session unknown, and writes once a lagging replica is read past', async () => {
    const log = new MemoryLog();
    log.write({ ...base, type: 'StartSession', actor: us, data: { environment: { os: 'Linux', python_version: '3.12' } } });
    log.laggingLoads = 1;
    const writer = new SessionWriter(log as unknown as SessionEventLog, new GatewayMetrics(new Registry()), config);
    expect(await writer.execute(outcome('t::after-failover'))).toMatchObject({ seq: 2, duplicate: false });
    expect(log.catchUps).toBe(2);
  });
});
