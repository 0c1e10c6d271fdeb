// Figure 11: `npm run rebuild` of a large stream into fresh read models (session views and SQL read
// models), beside a raw ordered-consumer replay of the same stream in the same run.
import { EVENTS_STREAM } from '#contracts';
import { openReadModelStore } from '#read-models';
import { distEntry } from '../../test/harness/apps.js';
import { Proc } from '../../test/harness/processes.js';
import { buildBacklog, publishAll } from '../lib/backlog.js';
import { cfg } from '../lib/config.js';
import { cpuMicros } from '../lib/proc-stats.js';
import type { Report } from '../lib/report.js';
import { checkFailed, onCleanup, out, step } from '../lib/run.js';
import { fmtRate, fmtUs } from '../lib/stats.js';
import type { System } from '../lib/system.js';
import { checkViews } from './projection.js';

/** Sessions of the rebuilt stream run this many at a time, as in figure 2. */
const CONCURRENT_SESSIONS = 100;

export interface Rebuild {
  events: number;
  /** Wall time of the whole command (Node start, dropping the old read models, the replay, exit), s. */
  seconds: number;
  /** CPU of the rebuild process and of nats-server per event, µs. */
  cpu: { rebuild: number; nats: number };
  /** The raw ordered-consumer replays of the same stream, s: bytes only, and with each event parsed. */
  raw: { bytes: number; parsed: number };
  verified: boolean;
}

export async function rebuildFigure(sys: System): Promise<Rebuild> {
  const sessions = Math.ceil(cfg.rebuildEvents / cfg.backlogPerSession);
  out(`11. Rebuild of ${(sessions * cfg.backlogPerSession).toLocaleString('en-US')} events into fresh read models (projector stopped)`);
  await sys.apps.projector.stop();
  const backlog = buildBacklog(sessions, cfg.backlogPerSession, CONCURRENT_SESSIONS);
  const lastSeq = await step('publish the stream', () => publishAll(sys.js, backlog.messages, 256, true));
  const events = backlog.messages.length;
  out(`  stream: ${events.toLocaleString('en-US')} events of ${sessions.toLocaleString('en-US')} sessions (last sequence ${lastSeq.toLocaleString('en-US')})`);

  const raw = { bytes: await step('raw ordered replay, bytes', () => replay(sys, lastSeq, false)), parsed: 0 };
  raw.parsed = await step('raw ordered replay, each event parsed', () => replay(sys, lastSeq, true));
  out(`  raw ordered consumer, bytes only:       ${raw.bytes.toFixed(2)} s → ${fmtRate(events / raw.bytes, 'events/s')}   (reference)`);
  out(`  raw ordered consumer, each event parsed: ${raw.parsed.toFixed(2)} s → ${fmtRate(events / raw.parsed, 'events/s')}`);

  const { seconds, cpu } = await step('npm run rebuild', () => runRebuild(sys, events));
  out(
    `  rebuild: ${seconds.toFixed(2)} s → ${fmtRate(events / seconds, 'events/s')}; CPU per event: rebuild ${fmtUs(cpu.rebuild)}, nats-server ${fmtUs(cpu.nats)}`,
  );
  const verified = (await checkViews(sys, backlog)) && (await checkReadModels(sys, lastSeq));
  out();
  return { events, seconds, cpu, raw, verified };
}

export function rebuildRows(report: Report, rebuild: Rebuild): void {
  const seconds = (s: number) => `${s.toFixed(2)} s`;
  const label = (what: string) => `(raw ordered replay, ${what})`;
  const events = rebuild.events.toLocaleString('en-US');
  report.compare(`11 rebuild of ${events} events, wall time`, rebuild.seconds, rebuild.raw.bytes, seconds, { kind: 'lower', bound: 2 }, label('bytes'));
  report.compare(`11 rebuild vs a replay that parses each event`, rebuild.seconds, rebuild.raw.parsed, seconds, undefined, label('parsed'));
  report.add({ figure: '11 rebuild, CPU per event', value: fmtUs(rebuild.cpu.rebuild), reference: `${fmtUs(rebuild.cpu.nats)} (nats-server)` });
  report.check('11 rebuild, views and read models checked', rebuild.verified, 'correct');
}

export const rebuildNote = (): string =>
  `- Rebuild: ${cfg.rebuildEvents.toLocaleString('en-US')} events (sessions of ${cfg.backlogPerSession}: a start, one result each, a finish; ` +
  `${CONCURRENT_SESSIONS} interleaved at a time) published raw on a fresh system with the projector stopped; then \`npm run rebuild\`'s program ` +
  '(`main.rebuild.js`) timed from its start to its exit: it drops the session views and the SQLite read models and folds the whole stream ' +
  'into both. Reference: an ordered consumer over the same stream in the bench process, reading every message (bytes only), and again parsing each event.';

/** Seconds for an ordered consumer to read the stream up to `lastSeq`, each message's bytes only or parsed as JSON. */
async function replay(sys: System, lastSeq: number, parse: boolean): Promise<number> {
  const consumer = await sys.js.consumers.get(EVENTS_STREAM);
  const started = performance.now();
  const messages = await consumer.consume();
  let read = 0;
  for await (const msg of messages) {
    if (parse) JSON.parse(msg.string());
    read++;
    if (msg.seq >= lastSeq) break;
  }
  const seconds = (performance.now() - started) / 1000;
  if (read !== lastSeq) throw new Error(`the replay read ${read} messages, the stream holds ${lastSeq}`);
  return seconds;
}

async function runRebuild(sys: System, events: number): Promise<{ seconds: number; cpu: Rebuild['cpu'] }> {
  const natsBefore = sys.natsPid ? cpuMicros(sys.natsPid) : Number.NaN;
  const started = performance.now();
  const proc = Proc.spawn('rebuild', process.execPath, [distEntry('apps/projector/src/main.rebuild.js')], sys.env);
  onCleanup('rebuild', () => proc.stop());
  // The process' CPU is read just before it exits: once it has logged that the rebuild is done (NaN if it is gone already).
  await proc.waitFor(/rebuilt the session views/, 3_600_000);
  let rebuildCpu = Number.NaN;
  try {
    rebuildCpu = cpuMicros(proc.child.pid!);
  } catch {
    // exited
  }
  const code = await proc.finished();
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`the rebuild exited with ${code}:\n${proc.logs.slice(-3000)}`);
  const natsCpu = sys.natsPid ? cpuMicros(sys.natsPid) - natsBefore : Number.NaN;
  return { seconds, cpu: { rebuild: rebuildCpu / events, nats: natsCpu / events } };
}

/** The SQL read models hold every event of the stream. */
async function checkReadModels(sys: System, lastSeq: number): Promise<boolean> {
  const store = await openReadModelStore(sys.env.READ_MODEL_URL!);
  try {
    const applied = await store.appliedSeq();
    if (applied === lastSeq) out(`  verified: the read models in ${store.location} hold the stream up to its last sequence ${lastSeq}`);
    else checkFailed(`rebuild: the read models hold the stream up to ${applied}, not ${lastSeq}`);
    return applied === lastSeq;
  } finally {
    await store.close();
  }
}
