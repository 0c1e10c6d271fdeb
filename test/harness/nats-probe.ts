import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EVENTS_STREAM, eventSubject, type TestResult } from '#contracts';
import { projectorConsumers, projectorFoldedThrough, readSubject, type StoredEvent } from '#nats';

/** The test's own NATS connection, to look at the stream and talk to the query app as any client would. */
export class NatsProbe {
  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async connect(url: string): Promise<NatsProbe> {
    const nc = await connect({ servers: url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    return new NatsProbe(nc, await jetstreamManager(nc));
  }

  /**
   * Resolves once requests get through again after a server restart: a request sent while the
   * connection is down is lost, not resent, so tests wait for this first.
   */
  async reconnected(): Promise<void> {
    for (;;) {
      try {
        await this.nc.request('$JS.API.INFO', '', { timeout: 500 });
        return;
      } catch {
        // not back yet
      }
    }
  }

  /** Messages in the event stream. */
  async eventCount(): Promise<number> {
    try {
      return (await this.jsm.streams.info(EVENTS_STREAM)).state.messages;
    } catch {
      return 0;
    }
  }

  /** The projector's durable consumers (one per partition): how far each has delivered and acknowledged. */
  projectorConsumers(): Promise<ConsumerInfo[]> {
    return projectorConsumers(this.jsm);
  }

  /** Whether the projector has folded every event up to stream sequence `seq`. */
  foldedThrough(seq: number): Promise<boolean> {
    return projectorFoldedThrough(this.jsm, seq);
  }

  /** The session's events, in stream order (`owner`: the grant that owns it; "local" without a keys file). */
  async events(sessionId: string, owner = 'local'): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for await (const stored of readSubject(jetstream(this.nc), this.jsm, eventSubject({ owner, sessionId }), 0)) events.push(stored);
    return events;
  }

  /** Every test result stored for the session. */
  async results(sessionId: string, owner = 'local'): Promise<TestResult[]> {
    return (await this.events(sessionId, owner)).flatMap(({ event }) => (event.type === 'TestOutcomesRecorded' ? event.data.results : []));
  }

  /** A plain NATS request with a JSON body, answered JSON. */
  async request<T = unknown>(subject: string, body: unknown, timeout = 5000): Promise<T> {
    const reply = await this.nc.request(subject, JSON.stringify(body), { timeout });
    return reply.json<T>();
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}
