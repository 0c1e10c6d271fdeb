import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVALS_STREAM, AUDIT_STREAM, CHANGES_STREAM, COUNTERS_BUCKET, EVENTS_STREAM, readModelGroup, SESSIONS_BUCKET } from '#contracts';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { ensureEventStream, ensureProjectorConsumers, kvCompareAndSet, openSessionsBucket } from '#nats';
import { App } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { NatsCluster } from './harness/nats-cluster.js';
import { NatsProbe } from './harness/nats-probe.js';
import { eventually } from './harness/processes.js';

let cluster: NatsCluster;
let probe: NatsProbe;
let apps: App[];
let client: McpTestClient;
let dataDir: string;

beforeAll(async () => {
  cluster = await NatsCluster.start();
  probe = await NatsProbe.connect(cluster.url);
  // What an earlier single-server setup left: the event log, its consumer and the views at 1 replica.
  const single = { replicas: 1, log: () => {} };
  await ensureEventStream(probe.jsm, single);
  await ensureProjectorConsumers(probe.jsm, readModelGroup(), { ...single, maxAckPending: 2000 });
  await openSessionsBucket(probe.nc, single);

  dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-read-models-'));
  // NATS_REPLICAS is left at its default (`auto`): 3 on this cluster.
  const env = { NATS_URL: cluster.url, READ_MODEL_URL: `sqlite:${join(dataDir, 'read-models.sqlite')}`, WRITE_TIMEOUT_MS: '1500' };
  // Those that started are stopped after the suite, even when another did not start.
  const started = await Promise.allSettled([App.start('projector', env), App.start('query', env), App.start('gateway', env)]);
  apps = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  for (const result of started) if (result.status === 'rejected') throw result.reason;
  client = await McpTestClient.http(apps[2]!.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await probe?.close();
  await Promise.all((apps ?? []).map((app) => app.stop()));
  await cluster?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const logs = () => apps.map((app) => app.proc.logs).join('\n');

/** Whether both followers of a stream's or consumer's group are up and hold all it holds. */
const allCurrent = ({ cluster: group }: { cluster?: { replicas?: { current: boolean; offline?: boolean }[] } }) =>
  group?.replicas?.length === 2 && group.replicas.every((replica) => replica.current && !replica.offline);

describe('the apps on a 3-node NATS cluster', () => {
  it('give every stream, bucket and the projector consumer 3 replicas, raising those created with 1 and saying so', async () => {
    for (const stream of [EVENTS_STREAM, CHANGES_STREAM, AUDIT_STREAM, APPROVALS_STREAM, `KV_${SESSIONS_BUCKET}`, `KV_${COUNTERS_BUCKET}`]) {
      expect((await probe.jsm.streams.info(stream)).config.num_replicas, stream).toBe(3);
    }
    for (const consumer of await probe.projectorConsumers()) expect(consumer.config.num_replicas, consumer.name).toBe(3);
    expect(logs()).toMatch(/streams and buckets get 3 replica\(s\) \(NATS_REPLICAS=auto; cluster of 3\)/);
    expect(logs()).toMatch(new RegExp(`stream ${EVENTS_STREAM}: replicas raised from 1 to 3`));
    expect(logs()).toMatch(new RegExp(`stream KV_${SESSIONS_BUCKET}: replicas raised from 1 to 3`));
    expect(logs()).toMatch(/consumer session-projector-0 has 1 replica\(s\): creating it again with 3/);
  });

  it('go on recording and reading while the stream leader is down, and the node catches up when it is back', async () => {
    const session_id = 'cluster-node-down';
    await client.ok('record_session_start', { session_id, environment: { os: 'Linux', python_version: '3.13.1' } });
    for (let i = 0; i < 5; i++) await client.ok('record_test_outcome', { nodeid: `t::before_${i}`, outcome: 'passed', duration: 0.1 });

    // Raised a moment ago: the new replicas first catch up, as a cluster's stream would have long since.
    await eventually(
      async () => allCurrent(await probe.jsm.streams.info(EVENTS_STREAM)) && (await probe.projectorConsumers()).every(allCurrent),
      20_000,
      'replicas',
    );
    const leader = (await probe.jsm.streams.info(EVENTS_STREAM)).cluster!.leader!;
    await cluster.node(leader).kill();
    // While a new leader is elected a write may be refused (WRITE_UNAVAILABLE): retried, as clients do.
    for (let i = 0; i < 5; i++) {
      await eventually(() => client.ok('record_test_outcome', { nodeid: `t::during_${i}`, outcome: 'passed', duration: 0.1 }), 20_000, 'a write');
    }
    await eventually(async () => (await client.ok('get_session', {})).counts.total === 10, 20_000, 'the view with a node down');

    await cluster.node(leader).up();
    await eventually(async () => allCurrent(await probe.jsm.streams.info(EVENTS_STREAM)), 30_000, `${leader} to rejoin and catch up`);
    const finish = await eventually<{ seq: number }>(
      () => client.ok('record_session_finish', { summary: { total_tests: 10, passed: 10, failed: 0, skipped: 0, exitstatus: 0 } }),
      20_000,
      'the finish',
    );
    const view = await eventually(
      async () => {
        const v = await client.ok('get_session', {});
        return v.last_seq === finish.seq && v;
      },
      20_000,
      'the view to catch up',
    );
    expect(view).toMatchObject({ status: 'finished', counts: { passed: 10, total: 10 }, summary_matches: true });
    expect(await probe.results(session_id)).toHaveLength(10);
  });

  it('keeps compare-and-set exact when writers on every node change one key at once (nats-server 2.9.10 alone lets some through twice)', async () => {
    const PER_WRITER = 100;
    const writers = await Promise.all(cluster.nodes.map((node) => NatsProbe.connect(node.url)));
    const key = 'cluster-spec.increments';
    try {
      const kv = await new Kvm(probe.nc).open(COUNTERS_BUCKET, { bindOnly: true });
      let conflicts = 0;
      await Promise.all(
        writers.map(async (writer) => {
          const js = jetstream(writer.nc);
          for (let done = 0; done < PER_WRITER;) {
            const entry = await kv.get(key);
            const next = Number(entry?.string() ?? 0) + 1;
            if ((await kvCompareAndSet(js, COUNTERS_BUCKET, key, String(next), entry?.revision ?? 0)) === undefined) conflicts++;
            else done++;
          }
        }),
      );
      expect(Number((await kv.get(key))?.string())).toBe(writers.length * PER_WRITER);
      expect(conflicts).toBeGreaterThan(0);
    } finally {
      await Promise.all(writers.map((writer) => writer.close()));
    }
  });
});
