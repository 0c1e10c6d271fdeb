// Figure 2: projection catch-up. The projector is stopped, a backlog of sessions is published, the
// projector is started again and timed until it has folded it all; beside a bare durable pull consumer
// over a copy of the same messages.
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { SESSIONS_BUCKET, sessionKey, type SessionView } from '#contracts';
import { projectorConsumers, projectorFoldedThrough } from '#nats';
import { App } from '../../test/harness/apps.js';
import { eventually } from '../../test/harness/processes.js';
import { BACKLOG_OWNER, buildBacklog, publishAll, type Backlog, type BacklogMessage } from '../lib/backlog.js';
import { cfg } from '../lib/config.js';
import { cpuMicros } from '../lib/proc-stats.js';
import { withScratchStream } from '../lib/raw-jetstream.js';
import type { Report } from '../lib/report.js';
import { checkFailed, out, step } from '../lib/run.js';
import { fmtRate, fmtUs } from '../lib/stats.js';
import type { BenchNats, System } from '../lib/system.js';

export interface Projection {
  /** Events folded per second, from the projector being ready. */
  rate: number;
  backlog: Backlog;
  meanBytes: number;
  verified: boolean;
  /** The bare consumer, msgs/s: consume()'s callback form (the projector's) and `for await`. */
  raw: { callback: number; iterator: number };
}

export async function projectionFigure(sys: System): Promise<Projection> {
  out('2. Projection catch-up (projector stopped, backlog published, projector started)');
  const projection = await step('projection catch-up', () => projectionCatchUp(sys));
  await sys.recordRss('after projection catch-up (new projector process)');
  const raw = await step('raw durable pull consumer', () => rawConsume(sys, projection.backlog.messages));
  out(`  raw durable pull consumer, consume({max_messages: 2000, callback}) + ack each: ${fmtRate(raw.callback, 'msgs/s')}   (reference)`);
  out(`  raw durable pull consumer, for await (consume({max_messages: 2000})) + ack each: ${fmtRate(raw.iterator, 'msgs/s')}`);
  out();
  return { ...projection, raw };
}

export function projectionRows(report: Report, projection: Projection): void {
  const rate = (n: number) => fmtRate(n, 'ev/s');
  report.compare('2 projection catch-up, events/s', projection.rate, projection.raw.callback, rate, { kind: 'higher', bound: 0.5 }, '(raw consume+ack)');
  report.compare('2 projection vs raw for-await consumer', projection.rate, projection.raw.iterator, rate, undefined, '(raw, for await)');
  report.check('2 projection, views checked', projection.verified, 'correct');
}

export const projectionNote = ({ backlog, meanBytes }: Projection): string =>
  `- Projection: ${backlog.messages.length.toLocaleString('en-US')} events (${cfg.backlogSessions} sessions × ${cfg.backlogPerSession}, ` +
  `${cfg.backlogConcurrent} interleaved at a time, mean ${meanBytes.toFixed(0)} B) published while the projector was stopped; ` +
  'timed from the projector being ready until the ack floor of its durable consumer reached the last event. ' +
  'Reference: a bare durable pull consumer, `consume({max_messages: 2000})` + `ack()` per message, over a copy of the same messages.';

async function projectionCatchUp(sys: System): Promise<Omit<Projection, 'raw'>> {
  const { jsm } = sys;
  // Everything written so far is folded before the projector stops, so the timed backlog is only the new events.
  const before = await sys.streamLastSeq();
  await eventually(() => projectorFoldedThrough(jsm, before), 120_000, 'the projector to fold the ingest runs');
  await sys.apps.projector.stop();

  const backlog = buildBacklog(cfg.backlogSessions, cfg.backlogPerSession, cfg.backlogConcurrent);
  const sizes = backlog.messages.map((m) => Buffer.byteLength(m.data));
  const meanBytes = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const t0 = performance.now();
  const lastSeq = await publishAll(sys.js, backlog.messages, 256, true);
  const publishRate = backlog.messages.length / ((performance.now() - t0) / 1000);
  const streamLast = await sys.streamLastSeq();
  if (streamLast !== lastSeq || lastSeq - before !== backlog.messages.length) {
    throw new Error(`backlog: expected ${backlog.messages.length} new events after ${before}, stream last_seq is ${streamLast}`);
  }
  out(
    `  backlog: ${backlog.messages.length.toLocaleString('en-US')} events (${cfg.backlogSessions} sessions × ${cfg.backlogPerSession}, ${cfg.backlogConcurrent} sessions interleaved at a time, ` +
      `mean ${meanBytes.toFixed(0)} B) published at ${fmtRate(publishRate, 'msgs/s')} (256 in flight)`,
  );

  const kvStream = `KV_${SESSIONS_BUCKET}`;
  const kvBefore = (await jsm.streams.info(kvStream)).state.last_seq;
  const tStart = performance.now();
  sys.apps.projector = await App.start('projector', sys.env);
  const tReady = performance.now();
  const pid = sys.apps.projector.pid;
  const cpuBefore = cpuMicros(pid);
  const natsBefore = sys.natsPid ? cpuMicros(sys.natsPid) : Number.NaN;
  await eventually(() => projectorFoldedThrough(jsm, lastSeq), 300_000, 'the projector to catch up');
  const tDone = performance.now();
  const projectorCpu = cpuMicros(pid) - cpuBefore;
  const natsCpu = sys.natsPid ? cpuMicros(sys.natsPid) - natsBefore : Number.NaN;
  const seconds = (tDone - tReady) / 1000;
  const rate = backlog.messages.length / seconds;
  const viewWrites = (await jsm.streams.info(kvStream)).state.last_seq - kvBefore;
  out(
    `  projector: ready after ${((tReady - tStart) / 1000).toFixed(2)} s, then folded the backlog in ${seconds.toFixed(2)} s → ${fmtRate(rate, 'events/s')}` +
      ` (${fmtRate(backlog.messages.length / ((tDone - tStart) / 1000), 'events/s')} counting start-up); ` +
      `CPU per event: projector ${fmtUs(projectorCpu / backlog.messages.length)}, nats-server ${fmtUs(natsCpu / backlog.messages.length)}; ` +
      `redelivered ${(await projectorConsumers(jsm)).reduce((sum, info) => sum + info.num_redelivered, 0)}`,
  );
  out(
    `  view writes (KV puts): ${viewWrites.toLocaleString('en-US')} for ${backlog.messages.length.toLocaleString('en-US')} events ` +
      `= ${(backlog.messages.length / viewWrites).toFixed(1)} events folded per view write`,
  );
  return { rate, backlog, meanBytes, verified: await checkViews(sys, backlog) };
}

/** A few views, read straight from the KV bucket: finished, with every result counted. */
export async function checkViews(sys: BenchNats, backlog: Backlog): Promise<boolean> {
  const kv = await new Kvm(sys.nc).open(SESSIONS_BUCKET);
  const picks = [0, backlog.sessionIds.length - 1, ...Array.from({ length: 8 }, () => Math.floor(Math.random() * backlog.sessionIds.length))];
  const bad: string[] = [];
  for (const i of picks) {
    const id = backlog.sessionIds[i]!;
    const entry = await kv.get(sessionKey({ owner: BACKLOG_OWNER, sessionId: id }));
    const view = entry?.operation === 'PUT' ? entry.json<SessionView>() : undefined;
    if (
      !view ||
      view.counts.total !== backlog.resultsPerSession ||
      view.counts.passed !== backlog.resultsPerSession ||
      view.status !== 'finished' ||
      view.version !== cfg.backlogPerSession
    ) {
      bad.push(`${id}: ${view ? `status ${view.status}, counts.total ${view.counts.total}, version ${view.version}` : 'no view'}`);
    }
  }
  if (bad.length === 0) {
    out(
      `  verified: ${picks.length} views in ${SESSIONS_BUCKET} are finished with counts.total ${backlog.resultsPerSession} and version ${cfg.backlogPerSession}`,
    );
    return true;
  }
  out(`  !!! NOT VERIFIED: views differ from the backlog:`);
  for (const b of bad) out(`  !!!   ${b}`);
  checkFailed(`projection: ${bad.length} of ${picks.length} checked views are wrong`);
  return false;
}

/**
 * A bare durable pull consumer with explicit acks over a copy of the backlog (same sizes, no
 * filter_subject: the scratch stream holds nothing else), acking each message and doing nothing else.
 * `callback` is consume()'s callback form, the one the projector uses; `iterator` is `for await`.
 */
function rawConsume(sys: System, messages: BacklogMessage[]): Promise<{ callback: number; iterator: number }> {
  const { js, jsm, nc } = sys;
  const stream = 'BENCH_RAW_CONSUME';
  return withScratchStream(jsm, stream, 'bench.rawcons', async () => {
    const raw = messages.map((m) => ({ ...m, subject: `bench.rawcons.${m.subject.slice(m.subject.lastIndexOf('.') + 1)}` }));
    const lastSeq = await publishAll(js, raw, 256, false);
    const run = async (durable: string, mode: 'callback' | 'iterator') => {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: 30_000_000_000,
        max_ack_pending: 20_000,
      });
      const consumer = await js.consumers.get(stream, durable);
      const t0 = performance.now();
      let n = 0;
      let msgs;
      if (mode === 'iterator') {
        msgs = await consumer.consume({ max_messages: 2000 });
        // Leaving the loop with break stops the iterator (so close() below resolves).
        for await (const msg of msgs) {
          msg.ack();
          if (++n >= raw.length) break;
        }
        if (n < raw.length) throw new Error(`the raw consumer stopped after ${n} messages`);
      } else {
        let finished!: () => void;
        const all = new Promise<void>((resolve) => (finished = resolve));
        msgs = await consumer.consume({
          max_messages: 2000,
          callback: (msg) => {
            msg.ack();
            if (++n === raw.length) finished();
          },
        });
        await all;
      }
      await nc.flush();
      const seconds = (performance.now() - t0) / 1000;
      await msgs.close();
      await eventually(async () => (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq >= lastSeq, 30_000, `the ${durable} ack floor`);
      return raw.length / seconds;
    };
    return { callback: await run('bench-raw-callback', 'callback'), iterator: await run('bench-raw-iterator', 'iterator') };
  });
}
