import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { decide, evolve, initialState, SessionNotFound, type SessionCommand, type SessionState, type Verdict } from '#domain';
import type { GatewayEnv } from '../gateway.env.js';
import { SessionEventLog, WrongLastSequence } from './session-event-log.js';

export interface WriteResult {
  /** Stream sequence of the event holding the write. */
  seq: number;
  /** The write was already recorded: nothing new was stored. */
  duplicate: boolean;
}

/** The write could not be made durable; it may or may not have been stored. */
export class WriteUnavailable extends Error {
  readonly code = 'WRITE_UNAVAILABLE';
}

interface Pending {
  command: SessionCommand;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

interface Slot {
  /** The session as of its last event in the log; absent until loaded, or when unknown after a failure. */
  state?: SessionState;
  queue: Pending[];
  draining: boolean;
  /** When a command for the session last arrived (ms). */
  usedAt: number;
}

/** Rounds of "another writer came first: catch up and decide again" before giving up. */
const MAX_CONFLICT_ROUNDS = 50;
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
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.cacheBudget = config.get('WRITE_CACHE_RESULTS', { infer: true });
    this.keepMs = config.get('WRITE_CACHE_KEEP_SECONDS', { infer: true }) * 1000;
  }

  execute(command: SessionCommand): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      const slot = this.touch(command.sessionId);
      slot.queue.push({ command, resolve, reject });
      if (!slot.draining) void this.drain(slot);
    });
  }

  private touch(sessionId: string): Slot {
    const slot = this.slots.get(sessionId) ?? { queue: [], draining: false, usedAt: 0 };
    slot.usedAt = Date.now();
    this.slots.delete(sessionId);
    this.slots.set(sessionId, slot);
    return slot;
  }

  private async drain(slot: Slot): Promise<void> {
    slot.draining = true;
    while (slot.queue.length > 0) {
      const before = slot.state?.results.size ?? 0;
      const batch = slot.queue.splice(0);
      await this.commit(slot, batch).catch((error: unknown) => this.fail(slot, batch, error));
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
      const sessionId = todo[0]!.command.sessionId;
      let state: SessionState;
      try {
        state = slot.state ?? (await this.events.catchUp(initialState(sessionId)));
      } catch (error) {
        return this.fail(slot, todo, error);
      }
      const { events, verdicts } = decide(state, todo.map((p) => p.command), deps);
      const unknown = state.status === 'none' && round < MAX_CONFLICT_ROUNDS && verdicts.some(refusedAsUnknown);
      if (unknown && (await this.events.leaderHasMore(state).catch(() => false))) {
        // A lagging replica answered the load: the session exists; load it again.
        slot.state = undefined;
        continue;
      }
      const seqs: number[] = [];
      let failure: unknown;
      for (const event of events) {
        try {
          const ack = await this.events.append(event, state.lastSeq);
          state = evolve(state, event, ack.seq);
          seqs.push(ack.seq);
        } catch (error) {
          failure = error;
          break;
        }
      }
      slot.state = state;
      const conflict = failure instanceof WrongLastSequence && round < MAX_CONFLICT_ROUNDS;
      const retry: Pending[] = [];
      const unstored: Pending[] = [];
      todo.forEach((pending, i) => {
        const verdict = verdicts[i]!;
        if (verdict.kind === 'append' && verdict.event < seqs.length) settle(pending, verdict, seqs);
        // Another writer moved the session on: what was decided against the old state is decided again.
        else if (conflict) retry.push(pending);
        else if (verdict.kind === 'append') unstored.push(pending);
        else settle(pending, verdict, seqs);
      });
      if (unstored.length > 0) this.fail(slot, unstored, failure);
      if (conflict) slot.state = await this.events.catchUp(state).catch(() => undefined);
      todo = retry;
    }
  }

  /** The state after a failed write is unknown: forget it, so the next command reloads it. */
  private fail(slot: Slot, pending: Pending[], error: unknown): void {
    slot.state = undefined;
    const reason = error instanceof Error ? error.message : String(error);
    if (!(error instanceof WrongLastSequence)) this.log.warn(`write failed: ${reason}`);
    const unavailable = new WriteUnavailable(
      error instanceof WrongLastSequence
        ? `the session kept changing under concurrent writers; nothing was written for this call, retry it`
        : `NATS did not acknowledge the write (${reason}); it may or may not be stored: retry the same call, a stored write is recognised`,
    );
    for (const p of pending) p.reject(unavailable);
  }

  /**
   * Drops the least recently written sessions beyond the budget, but none written within keepMs: a
   * large session being written would otherwise be dropped and reloaded again and again.
   */
  private evictBeyondBudget(): void {
    const keepAfter = Date.now() - this.keepMs;
    for (const [sessionId, slot] of this.slots) {
      if (this.cachedResults <= this.cacheBudget && this.slots.size <= MAX_CACHED_SESSIONS) return;
      // Insertion order is recency: from here on every session was written within keepMs.
      if (slot.usedAt > keepAfter) return;
      if (slot.draining) continue;
      this.cachedResults -= slot.state?.results.size ?? 0;
      this.slots.delete(sessionId);
    }
  }
}

const refusedAsUnknown = (verdict: Verdict) => verdict.kind === 'rejected' && verdict.error instanceof SessionNotFound;

function settle(pending: Pending, verdict: Verdict, seqs: number[]): void {
  switch (verdict.kind) {
    case 'append':
      return pending.resolve({ seq: seqs[verdict.event]!, duplicate: verdict.duplicate });
    case 'duplicate':
      return pending.resolve({ seq: verdict.seq, duplicate: true });
    case 'rejected':
      return pending.reject(verdict.error);
  }
}
