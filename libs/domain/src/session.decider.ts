import {
  LIMITS,
  type Actor,
  type Outcome,
  type PytestEvent,
  type OutcomeItem,
  type SessionRef,
  type SessionStartedData,
  type Summary,
  type TestResult,
} from '#contracts';
import {
  DomainError,
  OutcomeConflict,
  OutcomeItemRefused,
  SessionAlreadyFinished,
  SessionFinishedError,
  SessionIdConflict,
  SessionNotFound,
} from './errors.js';
import { canonicalJson, fieldsFingerprint, fingerprint } from './fingerprint.js';
import { clipUtf8, utf8Length } from './text.js';

/** A test outcome as a command carries it: the tool's input without the session. */
export type OutcomeInput = OutcomeItem;

interface CommandBase {
  /** Grant owning the session, which is the caller's own: a grant writes only to its own sessions. */
  owner: string;
  sessionId: string;
  actor: Actor;
  /** When the gateway received the call (ISO 8601). */
  at: string;
}
export type SessionCommand =
  | (CommandBase & { type: 'StartSession'; data: SessionStartedData })
  | (CommandBase & { type: 'RecordOutcome'; outcome: OutcomeInput })
  /** Many outcomes, all or nothing: one refused item refuses them all. */
  | (CommandBase & { type: 'RecordOutcomes'; outcomes: readonly OutcomeInput[] })
  | (CommandBase & { type: 'FinishSession'; summary: Summary });

export type SessionStatus = 'none' | 'running' | 'finished';

/** Where an accepted write is: at a stream sequence, or in an event of the batch being decided. */
type Place = { seq: number } | { event: number };
interface Mark {
  fingerprint: string;
  place: Place;
}
interface ResultMark extends Mark {
  outcome: Outcome;
}
interface LatestAttempt {
  attempt: number;
  outcome: Outcome;
}

/** What the write side knows of a session: everything `decide` needs, folded from its events. */
export interface SessionState {
  readonly owner: string;
  readonly sessionId: string;
  readonly status: SessionStatus;
  /** Number of the session's events folded in (their `version`s run 1..version). */
  readonly version: number;
  /** Stream sequence of the last of them; 0 while the session has none. */
  readonly lastSeq: number;
  readonly start?: Mark;
  readonly finish?: Mark;
  /** Every recorded result by nodeid, phase and attempt: how a retried call is recognised. */
  readonly results: Map<string, ResultMark>;
  /** The counted attempt of each nodeid and phase. */
  readonly latest: Map<string, LatestAttempt>;
}

export function initialState({ owner, sessionId }: SessionRef): SessionState {
  return { owner, sessionId, status: 'none', version: 0, lastSeq: 0, results: new Map(), latest: new Map() };
}

export type Verdict =
  /**
   * Accepted: answered once `events[event]` (and every event before it) is stored. `duplicate` when
   * nothing new was written for it; `duplicates` counts a RecordOutcomes command's items already recorded,
   * `itemEvents` holds the event of each of its new items (so a writer can tell how many a partial store kept).
   */
  | { kind: 'append'; event: number; duplicate: boolean; duplicates?: number; itemEvents?: number[] }
  /** Already in the log at `seq`: answer it again, write nothing. */
  | { kind: 'duplicate'; seq: number; duplicates?: number }
  | { kind: 'rejected'; error: DomainError };

export interface Decision {
  /** Events to append in this order; their versions follow the state's. */
  events: PytestEvent[];
  /** One per command, in the commands' order. */
  verdicts: Verdict[];
}

export interface DeciderDeps {
  newEventId(): string;
}

/**
 * Decides a batch of commands for one session against its state. Consecutive accepted outcomes of
 * one actor share a TestOutcomesRecorded event (group commit), within LIMITS.batchResults/batchBytes.
 */
export function decide(state: SessionState, commands: readonly SessionCommand[], deps: DeciderDeps): Decision {
  const batch = new BatchDecision(state, deps);
  const verdicts = commands.map((command) => batch.take(command));
  return { events: batch.events, verdicts };
}

/**
 * Folds one stored event into the state. The state's indexes are updated in place rather than
 * copied (a copy per event would cost time quadratic in the session's size), so the state given
 * is consumed: use only the one returned.
 */
export function evolve(state: SessionState, event: PytestEvent, seq: number): SessionState {
  if (event.version !== state.version + 1) {
    throw new Error(`session ${state.owner}.${state.sessionId}: event version ${event.version} follows ${state.version}`);
  }
  const place = { seq };
  const next = { ...state, version: event.version, lastSeq: seq };
  switch (event.type) {
    case 'SessionStarted':
      return { ...next, status: 'running', start: { fingerprint: fingerprint(event.data), place } };
    case 'TestOutcomesRecorded':
      for (const result of event.data.results) {
        state.results.set(resultKey(result), { fingerprint: resultFingerprint(result), outcome: result.outcome, place });
        if (!result.superseded) state.latest.set(phaseKey(result), { attempt: result.attempt, outcome: result.outcome });
      }
      return next;
    case 'SessionFinished':
      return { ...next, status: 'finished', finish: { fingerprint: fingerprint(event.data.summary), place } };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** The stored form of an outcome: defaults filled in, free text clipped to LIMITS.errorBytes. */
export function normalizeResult(input: OutcomeInput): TestResult {
  const result: TestResult = {
    nodeid: input.nodeid,
    when: input.when ?? 'call',
    attempt: input.attempt ?? 1,
    outcome: input.outcome,
    duration: input.duration,
  };
  if (input.error != null) result.error = clipUtf8(input.error, LIMITS.errorBytes);
  if (input.longrepr != null) result.longrepr = clipUtf8(input.longrepr, LIMITS.errorBytes);
  if (result.error !== (input.error ?? undefined) || result.longrepr !== (input.longrepr ?? undefined)) {
    result.sent_digest = fieldsFingerprint([input.error, input.longrepr]);
  }
  if (input.location) result.location = input.location;
  return result;
}

const resultKey = (r: Pick<TestResult, 'nodeid' | 'when' | 'attempt'>) => `${r.when}:${r.attempt}:${r.nodeid}`;
const phaseKey = (r: Pick<TestResult, 'nodeid' | 'when'>) => `${r.when}:${r.nodeid}`;
/** What makes two reports of one nodeid, phase and attempt the same report. */
const resultFingerprint = (r: TestResult) =>
  fieldsFingerprint([r.outcome, r.duration, r.error, r.longrepr, r.location ? canonicalJson(r.location) : null, r.sent_digest]);

const sameActor = (a: Actor, b: Actor) => a.agent === b.agent && a.via === b.via && a.client === b.client;

/** A result's size in its event, as encoded JSON (escapes included): what the batch budget counts. */
const resultBytes = (r: TestResult) => utf8Length(JSON.stringify(r)) + 1;

/** How far a decision had gone: what a refused RecordOutcomes command rolls back to. */
interface Savepoint {
  events: number;
  /** Results in the last event then, when it was an outcomes event (later items may have joined it). */
  lastResults: number;
  openBatchBytes: number;
  journal: number;
}

/** The state as a batch sees it: the stored state with the batch's own accepted writes on top. */
class BatchDecision {
  readonly events: PytestEvent[] = [];
  private status: SessionStatus;
  private start?: Mark;
  private finish?: Mark;
  private readonly results = new Map<string, ResultMark>();
  private readonly latest = new Map<string, LatestAttempt>();
  private openBatchBytes = 0;
  /** How to take back each index entry set so far, in order. */
  private readonly journal: (() => unknown)[] = [];

  constructor(
    private readonly state: SessionState,
    private readonly deps: DeciderDeps,
  ) {
    this.status = state.status;
    this.start = state.start;
    this.finish = state.finish;
  }

  take(command: SessionCommand): Verdict {
    if (command.sessionId !== this.state.sessionId || command.owner !== this.state.owner) {
      throw new Error(`command for session ${command.owner}.${command.sessionId} decided against ${this.state.owner}.${this.state.sessionId}`);
    }
    switch (command.type) {
      case 'StartSession':
        return this.startSession(command);
      case 'RecordOutcome':
        return this.recordOutcome(command, command.outcome);
      case 'RecordOutcomes':
        return this.recordOutcomes(command);
      case 'FinishSession':
        return this.finishSession(command);
      default: {
        const _exhaustive: never = command;
        return _exhaustive;
      }
    }
  }

  private startSession(command: Extract<SessionCommand, { type: 'StartSession' }>): Verdict {
    const print = fingerprint(command.data);
    if (this.start) {
      return this.start.fingerprint === print ? answer(this.start) : rejected(new SessionIdConflict(command.sessionId));
    }
    const event = this.append(command, { type: 'SessionStarted', data: command.data });
    this.status = 'running';
    this.start = { fingerprint: print, place: { event } };
    return { kind: 'append', event, duplicate: false };
  }

  private recordOutcome(command: SessionCommand, outcome: OutcomeInput): Verdict {
    if (this.status === 'none') return rejected(new SessionNotFound(command.sessionId));
    const result = normalizeResult(outcome);
    const key = resultKey(result);
    const print = resultFingerprint(result);
    const latest = this.latestOf(result);
    const recorded = this.results.get(key) ?? this.state.results.get(key);
    if (recorded?.fingerprint === print) return answer(recorded);
    // After the finish, a different result cannot be recorded under any attempt.
    if (this.status === 'finished') return rejected(new SessionFinishedError(command.sessionId));
    if (recorded) {
      const nextAttempt = Math.max(latest?.attempt ?? 0, result.attempt) + 1;
      return rejected(new OutcomeConflict(command.sessionId, result.nodeid, result.when, result.attempt, recorded.outcome, nextAttempt));
    }
    if (latest && latest.attempt < result.attempt) result.replaces = latest.outcome;
    if (latest && latest.attempt > result.attempt) result.superseded = true;
    const event = this.appendResult(command, result);
    this.remember(this.results, key, { fingerprint: print, outcome: result.outcome, place: { event } });
    if (!result.superseded) this.remember(this.latest, phaseKey(result), { attempt: result.attempt, outcome: result.outcome });
    return { kind: 'append', event, duplicate: false };
  }

  /**
   * Each item as a RecordOutcome of its own, in order; the first refused item undoes the items
   * before it, so the batch is stored whole or not at all.
   */
  private recordOutcomes(command: Extract<SessionCommand, { type: 'RecordOutcomes' }>): Verdict {
    if (this.status === 'none') return rejected(new SessionNotFound(command.sessionId));
    const savepoint = this.savepoint();
    let lastEvent = -1;
    let lastSeq = 0;
    let duplicates = 0;
    const itemEvents: number[] = [];
    for (const [index, outcome] of command.outcomes.entries()) {
      const verdict = this.recordOutcome(command, outcome);
      switch (verdict.kind) {
        case 'rejected':
          this.rollback(savepoint);
          return rejected(new OutcomeItemRefused(index, verdict.error));
        case 'duplicate':
          duplicates++;
          lastSeq = Math.max(lastSeq, verdict.seq);
          break;
        case 'append':
          if (verdict.duplicate) duplicates++;
          else itemEvents.push(verdict.event);
          lastEvent = Math.max(lastEvent, verdict.event);
          break;
      }
    }
    const duplicate = duplicates === command.outcomes.length;
    return lastEvent >= 0 ? { kind: 'append', event: lastEvent, duplicate, duplicates, itemEvents } : { kind: 'duplicate', seq: lastSeq, duplicates };
  }

  /** Sets a key in one of the batch's own indexes, journalled so that a refused batch can take it back. */
  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    const had = map.has(key);
    const before = map.get(key);
    this.journal.push(() => (had ? map.set(key, before!) : map.delete(key)));
    map.set(key, value);
  }

  private savepoint(): Savepoint {
    const last = this.events.at(-1);
    return {
      events: this.events.length,
      lastResults: last?.type === 'TestOutcomesRecorded' ? last.data.results.length : 0,
      openBatchBytes: this.openBatchBytes,
      journal: this.journal.length,
    };
  }

  private rollback(to: Savepoint): void {
    this.events.length = to.events;
    const last = this.events.at(-1);
    if (last?.type === 'TestOutcomesRecorded') last.data.results.length = to.lastResults;
    this.openBatchBytes = to.openBatchBytes;
    for (const undo of this.journal.splice(to.journal).reverse()) undo();
  }

  private finishSession(command: Extract<SessionCommand, { type: 'FinishSession' }>): Verdict {
    if (this.status === 'none') return rejected(new SessionNotFound(command.sessionId));
    const print = fingerprint(command.summary);
    if (this.finish) {
      return this.finish.fingerprint === print ? answer(this.finish) : rejected(new SessionAlreadyFinished(command.sessionId));
    }
    const event = this.append(command, { type: 'SessionFinished', data: { summary: command.summary } });
    this.status = 'finished';
    this.finish = { fingerprint: print, place: { event } };
    return { kind: 'append', event, duplicate: false };
  }

  private latestOf(result: TestResult): LatestAttempt | undefined {
    const key = phaseKey(result);
    return this.latest.get(key) ?? this.state.latest.get(key);
  }

  /** Adds the result to the open outcomes event when it fits, else opens a new one. */
  private appendResult(command: SessionCommand, result: TestResult): number {
    const bytes = resultBytes(result);
    const last = this.events.at(-1);
    if (
      last?.type === 'TestOutcomesRecorded' &&
      sameActor(last.actor, command.actor) &&
      last.data.results.length < LIMITS.batchResults &&
      this.openBatchBytes + bytes <= LIMITS.batchBytes
    ) {
      last.data.results.push(result);
      this.openBatchBytes += bytes;
      return this.events.length - 1;
    }
    this.openBatchBytes = bytes;
    return this.append(command, { type: 'TestOutcomesRecorded', data: { results: [result] } });
  }

  private append(command: SessionCommand, body: Pick<PytestEvent, 'type' | 'data'>): number {
    this.events.push({
      ...body,
      v: 1,
      id: this.deps.newEventId(),
      sessionId: command.sessionId,
      version: this.state.version + this.events.length + 1,
      at: command.at,
      actor: command.actor,
    } as PytestEvent);
    return this.events.length - 1;
  }
}

const answer = (mark: Mark): Verdict =>
  'seq' in mark.place ? { kind: 'duplicate', seq: mark.place.seq } : { kind: 'append', event: mark.place.event, duplicate: true };

const rejected = (error: DomainError): Verdict => ({ kind: 'rejected', error });
