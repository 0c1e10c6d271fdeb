import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { auditSubject, type AuditRecord } from '#contracts';
import { ensureAuditStream, JETSTREAM, JETSTREAM_MANAGER, NATS_CONNECTION, NATS_STORE, type StoreOptions } from '#nats';
import type { GatewayEnv } from '../gateway.env.js';

/** Records wait this long for others of the same subject, so that one append carries many calls. */
const GATHER_MS = 20;
/** …or until this many bytes are waiting (a message stays well below NATS' 1 MiB payload limit). */
const MAX_MESSAGE_BYTES = 256 * 1024;
/** How long a message is retried while NATS does not acknowledge it (its records are then logged as lost). */
const RETRY_FOR_MS = 60_000;
const RETRY_EVERY_MS = 1_000;
/** Records awaiting their ack at most; beyond, new ones are logged as lost rather than held. */
const MAX_UNACKED = 50_000;

/**
 * Appends one record per tool call to the audit stream. The caller's answer does not wait for it.
 * Records of one subject (decision and agent) that end within a few milliseconds go out as one
 * message — an append per call cost the gateway as much as the call itself (measured) — whose id is
 * its `Nats-Msg-Id`, so a retry after a lost ack stores it once.
 */
@Injectable()
export class AuditLog implements OnModuleInit, BeforeApplicationShutdown {
  private readonly log = new Logger('Audit');
  /** Per subject, records as JSON, and their total length. */
  private readonly gathering = new Map<string, { records: string[]; bytes: number }>();
  private flushTimer?: NodeJS.Timeout;
  private unacked = 0;
  private readonly appending = new Set<Promise<void>>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    private readonly config: ConfigService<GatewayEnv, true>,
  ) {}

  onModuleInit(): Promise<void> {
    return ensureAuditStream(this.jsm, {
      ...this.store,
      maxAgeDays: this.config.get('AUDIT_MAX_AGE_DAYS', { infer: true }),
    });
  }

  /** Appends what is gathered before the NATS connection drains. */
  async beforeApplicationShutdown(): Promise<void> {
    this.flush();
    await Promise.all(this.appending);
  }

  record(record: AuditRecord): void {
    if (this.unacked >= MAX_UNACKED) return this.lost(JSON.stringify([record]), `${MAX_UNACKED} records await NATS already`);
    this.unacked++;
    const subject = auditSubject(record.decision, record.agent);
    const json = JSON.stringify(record);
    let gathered = this.gathering.get(subject);
    if (gathered && gathered.bytes + json.length > MAX_MESSAGE_BYTES) this.send(subject);
    gathered = this.gathering.get(subject);
    if (!gathered) this.gathering.set(subject, (gathered = { records: [], bytes: 2 }));
    gathered.records.push(json);
    gathered.bytes += json.length + 1;
    this.flushTimer ??= setTimeout(() => this.flush(), GATHER_MS);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const subject of [...this.gathering.keys()]) this.send(subject);
  }

  private send(subject: string): void {
    const { records } = this.gathering.get(subject)!;
    this.gathering.delete(subject);
    // An AuditMessage: the records as one JSON array.
    const appended = this.append(subject, `[${records.join(',')}]`, Date.now() + RETRY_FOR_MS).finally(() => {
      this.unacked -= records.length;
      this.appending.delete(appended);
    });
    this.appending.add(appended);
  }

  private async append(subject: string, payload: string, giveUpAt: number): Promise<void> {
    const msgID = randomUUID();
    for (;;) {
      try {
        await this.js.publish(subject, payload, { msgID });
        return;
      } catch (error) {
        if (Date.now() >= giveUpAt || this.nc.isClosed()) return this.lost(payload, String(error));
        await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
      }
    }
  }

  private lost(records: string, why: string): void {
    this.log.error(`audit records lost (${why}): ${records}`);
  }
}
