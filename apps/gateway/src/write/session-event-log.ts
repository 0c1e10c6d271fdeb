import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import { boundedReason, EVENTS_STREAM, eventSubject, LEGACY_OWNER, legacyEventSubject, unpartitionedEventSubject, type PytestEvent } from '#contracts';
import { evolve, type SessionState } from '#domain';
import {
  endOfTurn,
  ensureEventStream,
  isWrongLastSequence,
  JETSTREAM,
  JETSTREAM_MANAGER,
  lastSeqOn,
  NATS_STORE,
  NatsHealth,
  publishAfter,
  readSubject,
  UnreadableEvent,
  type StoreOptions,
} from '#nats';
import { Refused } from '../mcp/refusal-result.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { GatewayEnv } from '../gateway.env.js';

export class WrongLastSequence extends Error {}

/** The write side's view of the stream: append a session's next event, read a session's events. */
@Injectable()
export class SessionEventLog implements OnModuleInit {
  private readonly timeout: number;

  constructor(
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    private readonly health: NatsHealth,
    private readonly metrics: GatewayMetrics,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.timeout = config.get('WRITE_TIMEOUT_MS', { infer: true });
  }

  onModuleInit(): Promise<void> {
    return ensureEventStream(this.jsm, this.store);
  }

  /**
   * Appends `event` to the session of `state` if its last event is still at `state.lastSeq` (0: the
   * session has none). Its `Nats-Msg-Id` names the event it follows (publishAfter), so one event
   * only follows another, also on a cluster: when an ack is lost while the connection stays up, the
   * same event is published once more and stored once; an event of another writer stored there
   * first is a conflict.
   */
  async append(event: PytestEvent, { owner, sessionId, lastSeq }: SessionState): Promise<PubAck> {
    const subject = eventSubject({ owner, sessionId });
    const publish = () => publishAfter(this.js, subject, JSON.stringify(event), lastSeq, { timeout: this.timeout });
    let ack: PubAck;
    await endOfTurn();
    const publishedAt = performance.now();
    try {
      ack = await publish().catch((error: unknown) => {
        if (!(error instanceof natsErrors.TimeoutError) || !this.health.isConnected) throw error;
        return publish();
      });
    } catch (error) {
      if (isWrongLastSequence(error)) throw new WrongLastSequence(error.message);
      throw error;
    }
    this.metrics.stage('publish', publishedAt);
    if (ack.duplicate && !(await this.holds(ack.seq, event))) {
      throw new WrongLastSequence(`another writer's event follows stream sequence ${lastSeq} of ${subject}`);
    }
    return ack;
  }

  /** Whether the event stored at `seq` is `event` (0: a change still in flight at the stream's leader, not known yet). */
  private async holds(seq: number, event: PytestEvent): Promise<boolean> {
    if (seq === 0) return false;
    const stored = await this.jsm.streams.getMessage(EVENTS_STREAM, { seq });
    return stored?.json<{ id?: unknown }>().id === event.id;
  }

  /**
   * Whether the stream's leader holds events of the session after the state. Direct gets may be
   * answered by a replica that lags; before a session is called unknown, the leader is asked.
   */
  async leaderHasMore(state: SessionState): Promise<boolean> {
    if (this.store.replicas === 1) return false;
    const last = await this.jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: eventSubject(state) });
    return (last?.seq ?? 0) > state.lastSeq;
  }

  /**
   * Folds the session's events stored after `state.lastSeq` into it (all of them for a new state).
   * An event that does not follow the ones before (put there by other means) makes the log
   * unreadable, as an invalid one does; a session recorded by an earlier version, on a subject of
   * those days, is read-only.
   */
  async catchUp(state: SessionState): Promise<SessionState> {
    for await (const { seq, event } of readSubject(this.js, this.jsm, eventSubject(state), state.lastSeq)) {
      try {
        state = evolve(state, event, seq);
      } catch (error) {
        throw new UnreadableEvent(seq, boundedReason((error as Error).message));
      }
    }
    const earlier = state.status === 'none' ? await this.recordedEarlier(state) : undefined;
    if (earlier) {
      throw new Refused('SESSION_READ_ONLY', `Session "${state.sessionId}" was recorded ${earlier}: it can be read, not written; choose another session_id.`);
    }
    return state;
  }

  /** When the session was recorded on a subject of an earlier version: before partitions, or before owners. */
  private async recordedEarlier(state: SessionState): Promise<string | undefined> {
    const [beforePartitions, beforeOwners] = await Promise.all([
      lastSeqOn(this.jsm, unpartitionedEventSubject(state)),
      state.owner === LEGACY_OWNER ? lastSeqOn(this.jsm, legacyEventSubject(state.sessionId)) : 0,
    ]);
    if (beforeOwners) return 'before sessions had owners';
    if (beforePartitions) return 'before the event stream had partitions';
    return undefined;
  }
}
