import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { sessionKey } from '#contracts';
import { decide, evolve, initialState, SessionNotFound, type SessionCommand, type SessionState, type Verdict } from '#domain';
import { UnreadableEvent } from '#nats';
import type { GatewayEnv } from '../gateway.env.js';
import { Refused } from '../mcp/refusal-result.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { SessionEventLog, WrongLastSequence } from './session-event-log.js';

export interface WriteResult {
  /** Stream sequence of the event holding the write. */
  seq: number;
  /** The write was already recorded: nothing new was stored. */
  duplicate: boolean;
  /** Of a RecordOutcomes command: its items that were already recorded. */
  duplicates?: number;
}

/** Where a write failed: NATS did not answer, or the gateway itself failed (a bug, never the caller's input). */
type FailedIn = 'nats' | 'gateway';

interface Pending {
  command: SessionCommand;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
  /** When it was queued (performance.now()). */
  queuedAt: number;
  /**
   * Items of a RecordOutcomes command stored by an earlier round: a command spread over several events
   * can see its first ones stored and the rest decided again after another writer moved the session on.
   */
  stored?: number;
}

interface Slot {
  /** The session as of its last event in the log; absent until loaded, or when unknown after a failure. */
  state?: SessionState;
  queue: Pending[];
  draining: boolean;
  /** When a command for the session last arrived (ms). */
  usedAt: number;
}

/** Rounds of "another writer came first: catch up and decide again" before giving up (WRITE_CONTENDED). */
export const MAX_CONFLICT_ROUNDS = 16;
/**
 * A random pause before deciding again, up to 2^round ms (64 ms at most): writers racing for one
 * session fall out of step instead of colliding round after round.
 */
const conflictPause = (round: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** round, 64)));
/** Sessions remembered at most, whatever their size. */
const MAX_CACHED_SESSIONS = 100_000;
const deps = { newEventId: () => randomUUID() };

/**
 * Serialises each session's commands and commits them with group commit: calls that queue up while
 * a session's write is in flight are decided together and stored in as few events as fit. The state
 * `decide` needs is cached per session and kept honest by JetStream's expected last subject sequence.
 */
@Injectable()
export class SessionWriter {
  private readonly log = new Logger(SessionWriter.name);
  /** Insertion order is recency: a used slot moves to the end, the oldest are evicted first. */
  private readonly slots = new Map<string, Slot>();
  private cachedResults = 0;
  private readonly cacheBudget: number;
  private readonly keepMs: number;

  constructor(
    private readonly events: SessionEventLog,
    private readonly metrics: GatewayMetrics,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.cacheBudget = config.get('WRITE_CACHE_RESULTS', { infer: true });
    this.keepMs = config.get('WRITE_CACHE_KEEP_SECONDS', { infer: true }) * 1000;
  }

  execute(command: SessionCommand): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      const slot = this.touch(sessionKey(command));
      slot.queue.push({ command, resolve, reject, queuedAt: performance.now() });
      if (!slot.draining) void this.drain(slot);
    });
  }

  private touch(key: string): Slot {
    const slot = this.slots.get(key) ?? { queue: [], draining: false, usedAt: 0 };
    slot.usedAt = Date.now();
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot;
  }

  private async drain(slot: Slot): Promise<void> {
    slot.draining = true;
    while (slot.queue.length > 0) {
      const before = slot.state?.results.size ?? 0;
      const batch = slot.queue.splice(0);
      for (const pending of batch) this.metrics.stage('queue', pending.queuedAt);
      await this.commit(slot, batch).catch((error: unknown) => this.fail(slot, batch, error, 'gateway'));
      // A session with no events is never cached: another gateway may start it at any moment.
      if (slot.state?.status === 'none') slot.state = undefined;
      this.cachedResults += (slot.state?.results.size ?? 0) - before;
    }
    slot.draining = false;
    this.evictBeyondBudget();
  }

  private async commit(slot: Slot, batch: Pending[]): Promise<void> {
    let todo = batch;
    for (let round = 1; todo.length > 0; round++) {
      const { owner, sessionId } = todo[0]!.command;
      let state: SessionState;
      const loadedAt = performance.now();
      try {
        state = slot.state ?? (await this.events.catchUp(initialState({ owner, sessionId })));
      } catch (error) {
        return this.fail(slot, todo, error, 'nats');
      }
      if (!slot.state) this.metrics.stage('load', loadedAt);
      const decidedAt = performance.now();
      const { events, verdicts } = decide(
        state,
        todo.map((p) => p.command),
        deps,
      );
      this.metrics.stage('decide', decidedAt);
      const unknown = state.status === 'none' && round < MAX_CONFLICT_ROUNDS && verdicts.some(refusedAsUnknown);
      if (unknown && (await this.events.leaderHasMore(state).catch(() => false))) {
        // A lagging replica answered the load: the session exists; load it again.
        slot.state = undefined;
        continue;
      }
      const seqs: number[] = [];
      let failure: { error: unknown; in: FailedIn } | undefined;
      for (const event of events) {
        try {
          seqs.push((await this.events.append(event, state)).seq);
        } catch (error) {
          failure = { error, in: 'nats' };
          break;
        }
        try {
          state = evolve(state, event, seqs.at(-1)!);
        } catch (error) {
          // Stored, so answered as stored; but the state is unknown from here: nothing more is appended on it.
          failure = { error, in: 'gateway' };
          break;
        }
      }
      slot.state = failure ? undefined : state;
      const conflict = failure?.error instanceof WrongLastSequence && round < MAX_CONFLICT_ROUNDS;
      const retry: Pending[] = [];
      const unstored: Pending[] = [];
      todo.forEach((pending, i) => {
        const verdict = verdicts[i]!;
        if (verdict.kind === 'append' && verdict.event >= seqs.length) keepStoredItems(pending, verdict, seqs.length);
        if (verdict.kind === 'append' && verdict.event < seqs.length) settle(pending, verdict, seqs);
        // Another writer moved the session on: what was decided against the old state is decided again.
        else if (conflict) retry.push(pending);
        else if (verdict.kind === 'append') unstored.push(pending);
        else settle(pending, verdict, seqs);
      });
      if (unstored.length > 0) this.fail(slot, unstored, failure!.error, failure!.in);
      if (conflict) {
        await conflictPause(round);
        slot.state = await this.events.catchUp(state).catch(() => undefined);
      }
      todo = retry;
    }
  }

  /** Refuses calls that were not stored, saying why; the session's state is forgotten, so the next command reloads it. */
  private fail(slot: Slot, pending: Pending[], error: unknown, failedIn: FailedIn): void {
    slot.state = undefined;
    const refusal = refusalFor(error, failedIn);
    if (refusal.code === 'INTERNAL') this.log.error(`write failed: ${refusal.message}`, error instanceof Error ? error.stack : undefined);
    else if (refusal.code === 'WRITE_UNAVAILABLE') this.log.warn(refusal.message);
    for (const p of pending) p.reject(partlyStored(p, refusal));
  }

  /**
   * Drops the least recently written sessions beyond the budget, but none written within keepMs while the
   * cache holds less than twice its budget: a large session being written would otherwise be dropped and
   * reloaded again and again, and batches of a thousand results must not grow the cache without bound.
   */
  private evictBeyondBudget(): void {
    const keepAfter = Date.now() - this.keepMs;
    for (const [key, slot] of this.slots) {
      if (this.cachedResults <= this.cacheBudget && this.slots.size <= MAX_CACHED_SESSIONS) return;
      // Insertion order is recency: from here on every session was written within keepMs.
      if (slot.usedAt > keepAfter && this.cachedResults <= 2 * this.cacheBudget) return;
      if (slot.draining) continue;
      this.cachedResults -= slot.state?.results.size ?? 0;
      this.slots.delete(key);
    }
  }
}

/** Why calls were not stored, as the caller is told. Only NATS' silence is WRITE_UNAVAILABLE. */
function refusalFor(error: unknown, failedIn: FailedIn): Refused {
  if (error instanceof Refused) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof WrongLastSequence) {
    return new Refused('WRITE_CONTENDED', 'the session kept changing under concurrent writers; nothing was written for this call, retry it');
  }
  if (error instanceof UnreadableEvent) {
    return new Refused('SESSION_UNREADABLE', `nothing was written: ${reason}; the session can be written again once this gateway can read it`);
  }
  if (failedIn === 'gateway') return new Refused('INTERNAL', `nothing was written for this call (${reason})`);
  return new Refused(
    'WRITE_UNAVAILABLE',
    `NATS did not acknowledge the write (${reason}); it may or may not be stored: retry the same call, a stored write is recognised`,
  );
}

const refusedAsUnknown = (verdict: Verdict) => verdict.kind === 'rejected' && verdict.error instanceof SessionNotFound;

function keepStoredItems(pending: Pending, verdict: Extract<Verdict, { kind: 'append' }>, storedEvents: number): void {
  const stored = verdict.itemEvents?.filter((event) => event < storedEvents).length ?? 0;
  if (stored > 0) pending.stored = (pending.stored ?? 0) + stored;
}

/** Items an earlier round stored are this call's own writes, not duplicates found in the log. */
const duplicatesOf = (pending: Pending, verdict: { duplicates?: number }) =>
  verdict.duplicates === undefined ? undefined : verdict.duplicates - (pending.stored ?? 0);

/** A refusal of a call part of which is stored already says so: a refused call otherwise wrote nothing. */
function partlyStored(pending: Pending, refusal: { code: string; message: string }): unknown {
  if (!pending.stored || pending.command.type !== 'RecordOutcomes') return refusal;
  return new Refused(
    'PARTLY_STORED',
    `${pending.stored} of this call's ${pending.command.outcomes.length} outcomes were stored before the rest was refused; once the cause ` +
      `is resolved, resending the same call stores the rest and counts nothing twice. The cause: [${refusal.code}] ${refusal.message}`,
  );
}

function settle(pending: Pending, verdict: Verdict, seqs: number[]): void {
  switch (verdict.kind) {
    case 'append':
      return pending.resolve({ seq: seqs[verdict.event]!, duplicate: verdict.duplicate, duplicates: duplicatesOf(pending, verdict) });
    case 'duplicate':
      // Everything is in the log; what an earlier round of this call stored is not "already recorded" to the caller.
      return pending.resolve({ seq: verdict.seq, duplicate: !pending.stored, duplicates: duplicatesOf(pending, verdict) });
    case 'rejected':
      return pending.reject(partlyStored(pending, verdict.error));
  }
}
