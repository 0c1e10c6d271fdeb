import { Inject, Injectable } from '@nestjs/common';
import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EVENTS_STREAM, type ReadModelGroup } from '#contracts';
import { METRICS } from '#metrics';
import { JETSTREAM_MANAGER, projectorConsumers } from '#nats';
import { READ_MODEL_GROUP } from '#read-models';

/** A fold of a batch, or a write of it to the read models: 1 ms to 30 s. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The projector's metrics: events folded (the fold rate), each batch's fold and read-model write
 * time, and — read from JetStream at each scrape — each partition consumer's lag behind the stream.
 */
@Injectable()
export class ProjectorMetrics {
  private readonly folded: Counter;
  private readonly batchSeconds: Histogram;
  private readonly readModelSeconds: Histogram;

  constructor(@Inject(METRICS) registry: Registry, @Inject(JETSTREAM_MANAGER) jsm: JetStreamManager, @Inject(READ_MODEL_GROUP) group: ReadModelGroup) {
    const registers = [registry];
    this.folded = new Counter({ name: 'mcp_pytest_projector_events_folded_total', help: 'Events folded into the read models and acked.', registers });
    this.batchSeconds = new Histogram({
      name: 'mcp_pytest_projector_batch_duration_seconds',
      help: 'One batch: folded, written to the read models and the session views, acked.',
      buckets: BUCKETS,
      registers,
    });
    this.readModelSeconds = new Histogram({
      name: 'mcp_pytest_read_model_write_duration_seconds',
      help: "One batch's write to the SQL read models (one transaction).",
      buckets: BUCKETS,
      registers,
    });
    // The three lag gauges are collected at once at each scrape: they share one read of JetStream.
    let reading: Promise<Lag> | undefined;
    const lag = () => (reading ??= readLag(jsm, group).finally(() => (reading = undefined)));
    new Gauge({
      name: 'mcp_pytest_projector_pending_events',
      help: "Events of the stream a partition consumer has not handed out yet, or handed out and not had acked: the projector's lag.",
      labelNames: ['consumer'],
      registers,
      async collect() {
        this.reset();
        for (const info of (await lag()).consumers) this.set({ consumer: info.name }, info.num_pending + info.num_ack_pending);
      },
    });
    new Gauge({
      name: 'mcp_pytest_projector_ack_floor_sequence',
      help: 'Stream sequence up to which a partition consumer has every event acked.',
      labelNames: ['consumer'],
      registers,
      async collect() {
        this.reset();
        for (const info of (await lag()).consumers) this.set({ consumer: info.name }, info.ack_floor.stream_seq);
      },
    });
    new Gauge({
      name: 'mcp_pytest_events_stream_last_sequence',
      help: `Last sequence of ${EVENTS_STREAM}.`,
      registers,
      async collect() {
        this.set((await lag()).lastSeq);
      },
    });
  }

  /** A batch of `events` that began at `startedAt` (performance.now()) is folded and acked. */
  batchFolded(events: number, startedAt: number): void {
    this.folded.inc(events);
    this.batchSeconds.observe((performance.now() - startedAt) / 1000);
  }

  readModelsWritten(startedAt: number): void {
    this.readModelSeconds.observe((performance.now() - startedAt) / 1000);
  }
}

interface Lag {
  consumers: ConsumerInfo[];
  lastSeq: number;
}

async function readLag(jsm: JetStreamManager, group: ReadModelGroup): Promise<Lag> {
  const [consumers, stream] = await Promise.all([projectorConsumers(jsm, group), jsm.streams.info(EVENTS_STREAM)]);
  return { consumers, lastSeq: stream.state.last_seq };
}
