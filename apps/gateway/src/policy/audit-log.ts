import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { auditSubject, type AuditRecord } from '#contracts';
import { ensureAuditStream, JETSTREAM, JETSTREAM_MANAGER } from '#nats';
import type { GatewayEnv } from '../gateway.env.js';

/** How long a record is retried while NATS does not acknowledge it (it then is logged as lost). */
const RETRY_FOR_MS = 60_000;
const RETRY_EVERY_MS = 1_000;
/** Records awaiting their ack at most; beyond, new ones are logged as lost rather than held. */
const MAX_UNACKED = 50_000;

/**
 * Appends one record per tool call to the audit stream. The caller's answer does not wait for it;
 * the record's id is its `Nats-Msg-Id`, so a retry after a lost ack stores it once.
 */
@Injectable()
export class AuditLog implements OnModuleInit {
  private readonly log = new Logger('Audit');
  private unacked = 0;

  constructor(
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    private readonly config: ConfigService<GatewayEnv, true>,
  ) {}

  onModuleInit(): Promise<void> {
    return ensureAuditStream(this.jsm, {
      replicas: this.config.get('NATS_REPLICAS', { infer: true }),
      maxAgeDays: this.config.get('AUDIT_MAX_AGE_DAYS', { infer: true }),
    });
  }

  record(record: AuditRecord): void {
    if (this.unacked >= MAX_UNACKED) return this.lost(record, `${MAX_UNACKED} records await NATS already`);
    this.unacked++;
    void this.append(record, Date.now() + RETRY_FOR_MS).finally(() => this.unacked--);
  }

  private async append(record: AuditRecord, giveUpAt: number): Promise<void> {
    const payload = JSON.stringify(record);
    for (;;) {
      try {
        await this.js.publish(auditSubject(record.decision, record.agent), payload, { msgID: record.id });
        return;
      } catch (error) {
        if (Date.now() >= giveUpAt) return this.lost(record, String(error));
        await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
      }
    }
  }

  private lost(record: AuditRecord, why: string): void {
    this.log.error(`audit record lost (${why}): ${JSON.stringify(record)}`);
  }
}
