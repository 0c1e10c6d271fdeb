import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LoggerService } from '@nestjs/common';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { PROJECTOR_LEASES_BUCKET, type ReadModelGroup } from '#contracts';
import { kvCompareAndSet, type ProjectorPartition } from '#nats';
import { planLeases } from './lease-plan.js';

/** A lease not renewed this long is free for another replica: how soon a dead replica's partitions move on. */
export const LEASE_TTL_MS = 4_000;
const RENEW_EVERY_MS = 1_000;

const leaseKey = (partition: ProjectorPartition) => `partition.${partition.durable}`;

/** Folds a partition's events while this replica holds its lease. */
export interface PartitionWorker {
  start(partition: ProjectorPartition): Promise<void>;
  /** Resolves once the partition's events already received are folded (or left unacked). */
  stop(partition: ProjectorPartition): Promise<void>;
}

/**
 * Which projector replica folds which partition: each partition has a lease in a KV bucket whose
 * entries expire unless renewed, taken by compare-and-set on a free lease (only one replica can,
 * also on a cluster: kvCompareAndSet) and renewed by compare-and-set at the revision it holds
 * (fails once another replica took it). Each replica announces itself the same way, so the
 * replicas of its read-model group converge on an even share (see planLeases). A lease that could
 * not be renewed stops the folding of its partition; should two replicas ever fold one partition
 * at once (a replica paused past its lease), the views' compare-and-set and the read models'
 * once-per-event writes keep every event folded once.
 */
export class PartitionLeases {
  readonly replica = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  /** Lease revision of each partition held, by durable name. */
  private readonly held = new Map<string, number>();
  /** Partitions being let go, until their last fetch ended: their leases are renewed meanwhile. */
  private readonly releasing = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;

  constructor(
    private readonly kv: KV,
    private readonly js: JetStreamClient,
    private readonly group: ReadModelGroup,
    private readonly partitions: ProjectorPartition[],
    private readonly worker: PartitionWorker,
    private readonly log: LoggerService,
  ) {}

  /** Takes a share of the partitions now if it can (a bucket just created on a cluster may not take writes for a moment), then every second. */
  async start(): Promise<void> {
    const round = () =>
      this.renew().catch((error: unknown) => {
        this.log.warn(`partition leases not renewed: ${(error as Error).message}; trying again`);
      });
    await round();
    this.timer = setInterval(() => {
      this.renewing ??= round().finally(() => (this.renewing = undefined));
    }, RENEW_EVERY_MS);
  }

  /** Stops folding and hands every partition held back at once (rather than when its lease expires). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    await Promise.all(this.releasing.values());
    await Promise.all(this.partitions.filter((partition) => this.held.has(partition.durable)).map((partition) => this.release(partition)));
    await this.kv.delete(this.replicaKey).catch(() => undefined);
  }

  /** Partitions held now, by durable name. */
  get holding(): string[] {
    return [...this.held.keys()];
  }

  private get replicaKey(): string {
    return `${this.group.replicaKeyPrefix}${this.replica}`;
  }

  private async renew(): Promise<void> {
    await this.kv.put(this.replicaKey, '');
    await Promise.all(this.partitions.filter((partition) => this.held.has(partition.durable)).map((partition) => this.renewLease(partition)));
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    const leased = new Set(keys.filter((key) => key.startsWith('partition.')));
    const plan = planLeases({
      partitions: this.partitions.map((partition) => partition.durable),
      held: new Set(this.held.keys()),
      free: new Set(this.partitions.filter((partition) => !leased.has(leaseKey(partition))).map((partition) => partition.durable)),
      replicas: keys.filter((key) => key.startsWith(this.group.replicaKeyPrefix)).length,
    });
    const released = this.partitions.filter((partition) => plan.release.includes(partition.durable) && !this.releasing.has(partition.durable));
    for (const partition of released) this.letGo(partition);
    // One still being let go is not taken again until its last fetch ended.
    const wanted = this.partitions.filter((partition) => plan.take.includes(partition.durable) && !this.releasing.has(partition.durable));
    const tookEach = await Promise.all(wanted.map((partition) => this.take(partition)));
    const taken = wanted.filter((_, i) => tookEach[i]);
    const changed = [...released.map(({ durable }) => `-${durable}`), ...taken.map(({ durable }) => `+${durable}`)];
    if (changed.length) this.log.log(`partitions ${changed.join(' ')}: ${this.held.size} of ${this.partitions.length} folded by ${this.replica}`);
  }

  /**
   * Renews a lease held. One that expired meanwhile (this replica paused past LEASE_TTL_MS: CPU
   * starved, a long GC) and that no other replica took is taken again at once, the partition
   * folded on; one another replica holds now is let go.
   */
  private async renewLease(partition: ProjectorPartition): Promise<void> {
    // A timeout or NATS away throws, and may still leave the lease ours: the next round tells.
    const renewed = await kvCompareAndSet(this.js, PROJECTOR_LEASES_BUCKET, leaseKey(partition), this.replica, this.held.get(partition.durable)!);
    if (renewed !== undefined) return void this.held.set(partition.durable, renewed);
    const retaken = await this.claim(partition);
    if (retaken !== undefined) {
      this.held.set(partition.durable, retaken);
      this.log.warn(`partition ${partition.durable}: lease expired (not renewed within ${LEASE_TTL_MS} ms), free: taken again`);
      return;
    }
    this.held.delete(partition.durable);
    this.log.warn(`partition ${partition.durable}: lease lost (not renewed within ${LEASE_TTL_MS} ms); another replica folds it`);
    this.letGo(partition);
  }

  /** Whether the lease was ours to take (another replica may have taken it first). */
  private async take(partition: ProjectorPartition): Promise<boolean> {
    const revision = await this.claim(partition);
    if (revision === undefined) return false;
    this.held.set(partition.durable, revision);
    await this.worker.start(partition);
    return true;
  }

  /** Takes a free lease (never taken, expired, or released: a delete marker, taken at its revision); its revision, or undefined if another holds it. */
  private async claim(partition: ProjectorPartition): Promise<number | undefined> {
    const lease = await this.kv.get(leaseKey(partition));
    if (lease?.operation === 'PUT') return undefined;
    return kvCompareAndSet(this.js, PROJECTOR_LEASES_BUCKET, leaseKey(partition), this.replica, lease?.revision ?? 0);
  }

  /**
   * Stops folding the partition in the background: its last fetch may take up to 5 s to end, and
   * meanwhile the rounds go on renewing every other lease (and this one's, while still held).
   */
  private letGo(partition: ProjectorPartition): void {
    if (this.releasing.has(partition.durable)) return;
    this.releasing.set(
      partition.durable,
      this.release(partition).finally(() => this.releasing.delete(partition.durable)),
    );
  }

  private async release(partition: ProjectorPartition): Promise<void> {
    await this.worker.stop(partition);
    const revision = this.held.get(partition.durable);
    this.held.delete(partition.durable);
    // Deleted only if still ours; otherwise it expires, or is another's already.
    if (revision !== undefined) await this.kv.delete(leaseKey(partition), { previousSeq: revision }).catch(() => undefined);
  }
}
