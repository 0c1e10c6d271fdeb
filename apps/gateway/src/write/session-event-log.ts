import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import { EVENTS_STREAM, eventSubject, parseEvent, type PytestEvent } from '#contracts';
import { evolve, type SessionState } from '#domain';
import { ensureEventStream, JETSTREAM, JETSTREAM_MANAGER, NatsHealth } from '#nats';
import type { GatewayEnv } from '../gateway.env.js';

/** JetStream's err_code when `expect.lastSubjectSequence` no longer holds: another write came first. */
const WRONG_LAST_SEQUENCE = 10071;

export class WrongLastSequence extends Error {}

/** The write side's view of the stream: append a session's next event, read a session's events. */
@Injectable()
export class SessionEventLog implements OnModuleInit {
  private readonly timeout: number;

  constructor(
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    private readonly health: NatsHealth,
    private readonly config: ConfigService<GatewayEnv, true>,
  ) {
    this.timeout = config.get('WRITE_TIMEOUT_MS', { infer: true });
  }

  onModuleInit(): Promise<void> {
    return ensureEventStream(this.jsm, { replicas: this.config.get('NATS_REPLICAS', { infer: true }) });
  }

  /**
   * Appends `event` if the session's last event is still at `lastSeq` (0: the session has none).
   * The event id is its `Nats-Msg-Id`: when an ack is lost while the connection stays up, the same
   * event is published once more and stored once.
   */
  async append(event: PytestEvent, lastSeq: number): Promise<PubAck> {
    const publish = () =>
      this.js.publish(eventSubject(event.sessionId), JSON.stringify(event), {
        msgID: event.id,
        expect: { lastSubjectSequence: lastSeq },
        timeout: this.timeout,
      });
    try {
      return await publish().catch((error: unknown) => {
        if (!(error instanceof natsErrors.TimeoutError) || !this.health.isConnected) throw error;
        return publish();
      });
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) throw new WrongLastSequence(error.message);
      throw error;
    }
  }

  /** Folds the session's events stored after `state.lastSeq` into it (all of them for a new state). */
  async catchUp(state: SessionState): Promise<SessionState> {
    const subject = eventSubject(state.sessionId);
    for (;;) {
      const next = await this.jsm.direct.getMessage(EVENTS_STREAM, { next_by_subj: subject, seq: state.lastSeq + 1 });
      if (!next) return state;
      state = evolve(state, parseEvent(next.json()), next.seq);
    }
  }
}
