// On a 3-node NATS cluster (3 replicas), SIGKILL the node leading the event stream under load, bring it back
// and let it catch up, then SIGKILL another leader: with a quorum left, writes, reads and a limit go on, the
// limit counted exactly, and every acknowledged outcome is there exactly once.
import type { ClusterInfo } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { COUNTERS_BUCKET, EVENTS_STREAM } from '#contracts';
import type { Drill, Sizes } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';
import { McpTestClient, refusalOf } from '../../harness/mcp-client.js';
import { NODE_NAMES } from '../../harness/nats-cluster.js';
import { PolicyFiles } from '../../harness/policy-files.js';
import { eventually, sleep } from '../../harness/processes.js';
import type { System } from '../../harness/system.js';

/** The only failure a write may meet while a stream elects a new leader: a refusal that says to retry. */
const CLEAR_REFUSAL = 'WRITE_UNAVAILABLE';
/** The limited agent's outcomes a day: half taken during the first outage, the rest (and refusals) during the second. */
const LIMIT = 20;
const LIMITED_SESSION = 'cluster-nodes-limited';
/** A limited call still failing after this long fails the drill. */
const GIVE_UP_MS = 60_000;
/** The fleet's grant owns its sessions as `local` (the owner Fleet reads them as); the limited agent has a grant of its own. */
const policy = {
  version: '1',
  default: 'allow',
  grants: {
    limited: {
      default: 'allow',
      // So the limit cannot be walked around through the batch tool.
      hide: ['record_test_outcomes'],
      tools: { record_test_outcome: { limits: [{ counter: 'drill_outcomes', window: 'day', max: LIMIT, scope: 'agent' }] } },
    },
  },
};

/** What happened while one node was down (from its SIGKILL until it had caught up again). */
interface Outage {
  node: string;
  why: string;
  killedAt: number;
  rejoinedAt: number;
  /** From the restart until every stream's and the projector consumer's replicas were current. */
  catchUpMs: number;
  /** What was still behind when the drill stopped waiting (10 × the outage), if anything. */
  behind?: string;
  reads: Tally;
  limited: Tally;
}

/** Calls answered, and the failures by kind. */
class Tally {
  answered = 0;
  refusedByLimit = 0;
  readonly failed = new Map<string, number>();

  fail(kind: string): void {
    this.failed.set(kind, (this.failed.get(kind) ?? 0) + 1);
  }

  describe(): string {
    return [`${this.answered} answered`, ...[...this.failed].map(([kind, n]) => `${n}× ${kind}`)].join(', ');
  }
}

export const clusterNodes: Drill = async (sizes) => {
  const files = PolicyFiles.create(policy);
  try {
    const fleetKey = await files.addKey('fleet', 'local');
    const limitedKey = await files.addKey('limited-agent', 'limited');
    return await withSystem(
      sizes,
      { WRITE_TIMEOUT_MS: '1500', KEYS_FILE: files.keys, POLICY_FILE: files.policy },
      (system) => drill(system, sizes, fleetKey, limitedKey),
      { cluster: true },
    );
  } finally {
    files.dispose();
  }
};

async function drill(system: System, sizes: Sizes, fleetKey: string, limitedKey: string) {
  const fleet = await Fleet.start(system, 'cluster-nodes', sizes.agents, { key: fleetKey });
  const readers = await Promise.all(system.gateways.map((gateway) => McpTestClient.http(gateway.mcpUrl, { name: 'reader', key: fleetKey })));
  // One connection through each gateway: the limit is one count across them, and the agent's one session is
  // written through both (each write compare-and-set on the session's last event).
  const limited = new LimitedAgent(
    await Promise.all(system.gateways.map((gateway) => McpTestClient.http(gateway.mcpUrl, { name: 'limited', key: limitedKey }))),
  );
  const day = utcDay();
  try {
    await limited.clients[0]!.ok('record_session_start', { session_id: LIMITED_SESSION, environment: { os: 'Linux', python_version: '3.13.1' } });
    // The load goes on until both outages are over, so each has writes to refuse or accept.
    let outagesOver = false;
    const chunk = Math.max(sizes.agents, Math.ceil(sizes.outcomes / 10));
    const written = (async () => {
      for (let sent = 0; sent < sizes.outcomes || !outagesOver; sent += chunk) await fleet.write(chunk, sizes.batch);
    })();
    written.catch(() => undefined);

    await fleet.acknowledgedAtLeast(sizes.outcomes / 3);
    const leader = await leaderOf(system, EVENTS_STREAM);
    const first = await outage(system, fleet, readers, sizes, leader, `leader of ${EVENTS_STREAM}`, () => limited.takeUntil(LIMIT / 2));
    const outages = [first];
    if (sizes.clusterOutages > 1) {
      await fleet.acknowledgedAtLeast((2 * sizes.outcomes) / 3);
      const [node, why] = await secondVictim(system, first.node);
      outages.push(await outage(system, fleet, readers, sizes, node, why, () => limited.takeUntilRefused(3)));
    } else await limited.takeUntilRefused(3);
    outagesOver = true;
    await written;

    const after = await limited.clients.at(-1)!.call('record_test_outcome', limited.outcome(limited.next++));
    const recoveries = outages.map((o) => fleet.recoveryAfter(o.killedAt, o.rejoinedAt));
    const row = await fleet.verify({
      drill: `cluster node SIGKILL ×${outages.length}`,
      did:
        `${fleet.acknowledged} outcomes from ${sizes.agents} agents via ${sizes.gateways} gateways on a 3-node cluster (R3); ` +
        outages.map((o) => `${o.node} (${o.why}) SIGKILLed, down ≥ ${sizes.outageMs} ms`).join(', then '),
      recoveryMs: Math.max(...recoveries),
      notes: [
        ...outages.map(
          (o, i) =>
            `outage ${i + 1} (${o.node}): writes recovered after ${(recoveries[i]! / 1000).toFixed(2)} s, failures ${fleet.describeFailures(o.killedAt, o.rejoinedAt)}; ` +
            `reads ${o.reads.describe()}; limited agent ${o.limited.describe()}${o.limited.refusedByLimit ? `, ${o.limited.refusedByLimit}× refused by the limit` : ''}; ` +
            (o.behind
              ? `not caught up ${(o.catchUpMs / 1000).toFixed(0)} s after its restart`
              : `back and caught up ${(o.catchUpMs / 1000).toFixed(2)} s after its restart`),
        ),
        `all write failures: ${fleet.describeFailures()}`,
      ],
    });
    const unclear = [...fleet.failureKinds().keys()].filter((kind) => kind !== CLEAR_REFUSAL);
    if (unclear.length) row.problems.push(`writes failed other than with ${CLEAR_REFUSAL}: ${unclear.join(', ')}`);
    for (const [i, o] of outages.entries()) {
      if (o.behind) row.problems.push(`outage ${i + 1}: ${o.behind}`);
      if (!fleet.successes.some((t) => t > o.killedAt && t < o.rejoinedAt))
        row.problems.push(`outage ${i + 1}: no write was accepted while ${o.node} was down`);
      if (!o.reads.answered) row.problems.push(`outage ${i + 1}: no read was answered while ${o.node} was down`);
    }
    if (!limited.unwritable && (!after.isError || refusalOf('record_test_outcome', after).code !== 'POLICY_DENIED'))
      row.problems.push(`the limited agent's call after both outages was not refused by its limit: ${JSON.stringify(after)}`);
    row.notes.push(...(await checkLimit(system, limited, day, row.problems)));
    if (outages.some((o) => o.behind))
      row.notes.push(
        await eventually(() => allReplicasCurrent(system), 10_000).then(
          () => 'at the end every replica was current',
          (error: Error) => `at the end still ${error.message.replace(/^timed out waiting for condition: Error: /, '')}`,
        ),
      );
    return row;
  } finally {
    await Promise.all([...readers, ...limited.clients].map((client) => client.close().catch(() => undefined)));
    await fleet.close();
  }
}

/**
 * SIGKILLs `node`, keeps it down at least `outageMs` and until writes were accepted without it and `during` is done,
 * then restarts it and waits until every replica is current again; reads go on through both gateways meanwhile.
 */
async function outage(
  system: System,
  fleet: Fleet,
  readers: McpTestClient[],
  sizes: Sizes,
  node: string,
  why: string,
  during: () => Promise<Tally>,
): Promise<Outage> {
  const reads = new Tally();
  let reading = true;
  const killedAt = performance.now();
  await system.cluster.node(node).kill();
  const readLoop = readWhile(() => reading, readers, fleet, reads);
  const [limited] = await Promise.all([
    during(),
    sleep(sizes.outageMs),
    eventually(() => writesAcceptedSince(fleet, killedAt), 60_000, `writes accepted with ${node} down`),
  ]);
  const upAt = performance.now();
  await system.cluster.node(node).up();
  // A node that does not catch up is the drill's finding, not its end: the second outage and the checks still run.
  // Observed 1–6 s when it catches up at all; ten outages' time keeps the small drill within the suite's timeout.
  const behind = await eventually(() => allReplicasCurrent(system), 10 * sizes.outageMs, `${node} to rejoin and catch up`).then(
    () => undefined,
    (error: Error) => error.message,
  );
  const rejoinedAt = performance.now();
  reading = false;
  await readLoop;
  return { node, why, killedAt, rejoinedAt, catchUpMs: rejoinedAt - upAt, behind, reads, limited };
}

/** Whether a write was accepted after the kill and after the last write failure since. */
function writesAcceptedSince(fleet: Fleet, killedAt: number): boolean {
  const lastFailure = Math.max(killedAt, ...fleet.failures.filter(({ at }) => at > killedAt).map(({ at }) => at));
  return (fleet.successes.at(-1) ?? 0) > lastFailure;
}

/** get_session of the fleet's sessions through each gateway in turn, while `going()`. */
async function readWhile(going: () => boolean, readers: McpTestClient[], fleet: Fleet, tally: Tally): Promise<void> {
  for (let i = 0; going(); i++) {
    const session_id = fleet.agents[i % fleet.agents.length]!.sessionId;
    try {
      const result = await readers[i % readers.length]!.call('get_session', { session_id });
      if (result.isError) tally.fail(describeRefusal(refusalOf('get_session', result)));
      else tally.answered++;
    } catch (error) {
      tally.fail(`dropped (${(error as Error).message.slice(0, 60)})`);
    }
    await sleep(50);
  }
}

/** Resolves when every stream's and projector consumer's two followers are up and hold all the leader holds; throws naming those that are not. */
async function allReplicasCurrent(system: System): Promise<true> {
  const groups: [string, ClusterInfo | undefined][] = (await system.probe.projectorConsumers()).map((info) => [`consumer ${info.name}`, info.cluster]);
  for await (const stream of system.probe.jsm.streams.list()) groups.push([stream.config.name, stream.cluster]);
  const behind = groups.filter(([, group]) => !(group?.leader && group.replicas?.length === 2 && group.replicas.every((r) => r.current && !r.offline)));
  if (behind.length) throw new Error(`not current: ${behind.map(([name, group]) => `${name} ${JSON.stringify(group)}`).join('; ')}`);
  return true;
}

async function leaderOf(system: System, stream: string): Promise<string> {
  const leader = (await system.probe.jsm.streams.info(stream)).cluster?.leader;
  if (!leader) throw new Error(`${stream} has no leader`);
  return leader;
}

/** The event stream's leader again where it moved off the first victim, else the counters' leader, else any other node. */
async function secondVictim(system: System, first: string): Promise<[string, string]> {
  const events = await leaderOf(system, EVENTS_STREAM);
  if (events !== first) return [events, `leader of ${EVENTS_STREAM}`];
  const counters = await leaderOf(system, `KV_${COUNTERS_BUCKET}`);
  if (counters !== first) return [counters, `leader of KV_${COUNTERS_BUCKET}`];
  return [NODE_NAMES.find((name) => name !== first)!, 'a follower'];
}

/**
 * One agent under a per-agent limit, calling record_test_outcome through both gateways at once. Each outcome is
 * retried as it was until it is accepted or refused by the limit, as a client does.
 */
class LimitedAgent {
  next = 0;
  readonly accepted = new Set<string>();
  /** The refusal that says its session cannot be written any more (SESSION_UNREADABLE): it stops calling. */
  unwritable?: string;

  constructor(readonly clients: McpTestClient[]) {}

  outcome(n: number) {
    return { session_id: LIMITED_SESSION, nodeid: `tests/test_limited.py::test_${n}`, outcome: 'passed', duration: 0.001 };
  }

  /** Until `count` outcomes were accepted in all. */
  takeUntil(count: number): Promise<Tally> {
    return this.run(() => this.accepted.size < count);
  }

  /** Until each client was refused by the limit `times` times. */
  takeUntilRefused(times: number): Promise<Tally> {
    return this.run((tally) => tally.refusedByLimit < times * this.clients.length);
  }

  private async run(going: (tally: Tally) => boolean): Promise<Tally> {
    const tally = new Tally();
    await Promise.all(
      this.clients.map(async (client) => {
        while (going(tally) && !this.unwritable) await this.take(client, this.outcome(this.next++), tally);
      }),
    );
    return tally;
  }

  private async take(client: McpTestClient, args: ReturnType<LimitedAgent['outcome']>, tally: Tally): Promise<void> {
    const giveUpAt = Date.now() + GIVE_UP_MS;
    for (;;) {
      if (Date.now() > giveUpAt) throw new Error(`the limited agent's ${args.nodeid} neither accepted nor limited after ${GIVE_UP_MS} ms: ${tally.describe()}`);
      try {
        const result = await client.call('record_test_outcome', args);
        if (!result.isError) {
          tally.answered++;
          this.accepted.add(args.nodeid);
          return;
        }
        const { code, message } = refusalOf('record_test_outcome', result);
        if (code === 'POLICY_DENIED' && message.includes('limit "drill_outcomes" reached')) {
          tally.refusedByLimit++;
          return;
        }
        tally.fail(describeRefusal({ code, message }));
        // Not a passing failure: the gateway cannot fold the session's log, and says so on every retry.
        if (code === 'SESSION_UNREADABLE') return void (this.unwritable ??= message);
      } catch (error) {
        tally.fail(`dropped (${(error as Error).message.slice(0, 60)})`);
      }
      await sleep(100);
    }
  }
}

/** Exactly LIMIT outcomes accepted, stored and counted in the counters bucket; notes what was found. */
async function checkLimit(system: System, limited: LimitedAgent, day: number, problems: string[]): Promise<string[]> {
  const stored = await system.probe.results(LIMITED_SESSION, 'limited');
  const kv = await new Kvm(system.probe.nc).open(COUNTERS_BUCKET, { bindOnly: true });
  let counted = 0;
  for await (const key of await kv.keys('drill_outcomes.>')) counted += Number((await kv.get(key))?.string() ?? 0);
  const found = `limit ${LIMIT} a day: ${limited.accepted.size} accepted, ${stored.length} stored, count in KV ${counted}`;
  const versions = await sameVersions(system);
  if (versions) problems.push(`the limited agent's session, written through both gateways: ${versions}`);
  if (limited.unwritable) problems.push(`the limited agent's session could not be written any more: SESSION_UNREADABLE ${limited.unwritable}`);
  if (utcDay() !== day) return [`${found} (the day's window rolled over during the drill: not checked)`];
  if (limited.accepted.size !== LIMIT && !limited.unwritable) problems.push(`${found}: accepted ≠ the limit`);
  if (stored.length !== limited.accepted.size || new Set(stored.map((r) => r.nodeid)).size !== stored.length)
    problems.push(`${found}: stored ≠ accepted (or stored twice)`);
  if (counted < limited.accepted.size) problems.push(`${found}: the count is below the calls accepted — a compare-and-set lost against another gateway's`);
  else if (counted > limited.accepted.size) problems.push(`${found}: the count is above the calls accepted (a quota taken and never given back)`);
  return [found];
}

/**
 * Events of the limited session that share a version (each write expects the session's last sequence, so two
 * gateways cannot both append version n — unless the server lets both through); undefined when there are none.
 */
async function sameVersions(system: System): Promise<string | undefined> {
  const seen = new Map<number, number[]>();
  for (const { seq, event } of await system.probe.events(LIMITED_SESSION, 'limited')) seen.set(event.version, [...(seen.get(event.version) ?? []), seq]);
  const twice = [...seen].filter(([, seqs]) => seqs.length > 1);
  return twice.length
    ? twice.map(([version, seqs]) => `version ${version} stored ${seqs.length}× (stream sequences ${seqs.join(', ')})`).join('; ')
    : undefined;
}

/** Its code; for a refusal that says it is a bug (INTERNAL) or misreads a failure (SESSION_UNREADABLE), its message too. */
const describeRefusal = ({ code, message }: { code: string; message: string }) =>
  code === 'INTERNAL' || code === 'SESSION_UNREADABLE' ? `${code} (${message.slice(0, 120)})` : code;

const utcDay = () => Math.floor(Date.now() / 86_400_000);
