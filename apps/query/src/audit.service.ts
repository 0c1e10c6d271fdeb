import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RpcException } from '@nestjs/microservices';
import type { Consumer, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { z } from 'zod';
import { AUDIT_STREAM, AuditMessage, auditSubject, type AuditQuery, type AuditQueryResult, type AuditRecord, type RefusalCode } from '#contracts';
import { ensureAuditStream, JETSTREAM, JETSTREAM_MANAGER, NATS_STORE, type StoreOptions } from '#nats';
import type { QueryEnv } from './query.env.js';

/** An audit query as the handler gets it: validated, `limit` defaulted. */
export type AuditQueryRequest = z.output<typeof AuditQuery>;

/** Without `since`, a query looks at the last hour. */
const DEFAULT_SINCE_MS = 3_600_000;
/** Records one query reads at most, so that a wide query cannot hold the app (and its memory) for long. */
const MAX_SCANNED = 200_000;
/** Messages per pull: thousands read several times faster than the client's default 100. */
const SCAN_BATCH = 1000;
/**
 * A record is stored when its call ended, and the gateway retries an append for up to a minute, so
 * the scan reads on this long past `until` for records of calls that arrived before it.
 */
const LATE_STORE_MS = 2 * 60_000;
/** The server removes a query's consumer this long after its reader went away (e.g. the app died mid-scan). */
const CONSUMER_IDLE_MS = 30_000;

/** Milliseconds since the epoch, both ends included. */
interface TimeRange {
  since: number;
  until: number;
}

/** Answers audit queries by reading the audit stream from the start of the range. */
@Injectable()
export class AuditService implements OnModuleInit {
  private readonly log = new Logger('Audit');

  constructor(
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    private readonly config: ConfigService<QueryEnv, true>,
  ) {}

  /** The stream may not exist yet: the query app can start before any gateway. */
  onModuleInit(): Promise<void> {
    return ensureAuditStream(this.jsm, {
      ...this.store,
      maxAgeDays: this.config.get('AUDIT_MAX_AGE_DAYS', { infer: true }),
    });
  }

  /**
   * The newest `limit` records that match, oldest first, and how many matched. Agent and decision
   * select the subject the server filters on (nats-server 2.9 takes one filter subject per
   * consumer); grant, tool and the time of each record are checked here.
   */
  async query(query: AuditQueryRequest): Promise<AuditQueryResult> {
    const range = timeRange(query, Date.now());
    // An ordered consumer: ephemeral, unacknowledged and in memory on the server, deleted after the scan.
    const consumer = await this.js.consumers.get(AUDIT_STREAM, {
      filter_subjects: auditSubject(query.decision ?? '*', query.agent ?? '*'),
      opt_start_time: new Date(range.since).toISOString(),
      inactive_threshold: CONSUMER_IDLE_MS,
    });
    try {
      // What is stored now is what the query is about: records appended during the scan are not waited for.
      const { num_pending } = await consumer.info(true);
      if (num_pending === 0) return { records: [], matched: 0 };
      return await this.scan(consumer, query, range, num_pending);
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  private async scan(consumer: Consumer, query: AuditQueryRequest, range: TimeRange, stored: number): Promise<AuditQueryResult> {
    const newest = new NewestRing<AuditRecord>(query.limit);
    let matched = 0;
    let scanned = 0;
    const messages = await consumer.consume({ max_messages: SCAN_BATCH });
    try {
      for await (const msg of messages) {
        if (storedAt(msg) > range.until + LATE_STORE_MS) break;
        for (const record of readRecords(msg)) {
          if (!matches(record, query, range)) continue;
          matched++;
          newest.push(record);
        }
        // `pending` reaches 0 early if records expired (max age) while the scan ran.
        if (++scanned === stored || msg.info.pending === 0) break;
        if (scanned === MAX_SCANNED) {
          this.log.warn(
            `audit query ${JSON.stringify(query)} stopped after ${MAX_SCANNED} records: ` +
              `it answered from records stored up to ${new Date(storedAt(msg)).toISOString()} only`,
          );
          break;
        }
      }
    } finally {
      await messages.close();
    }
    return { records: byTime(newest.toArray()), matched };
  }
}

/** The query's range: since defaults to an hour ago, until to now; a range that ends before it starts is refused. */
function timeRange({ since, until }: AuditQueryRequest, now: number): TimeRange {
  const range = {
    since: since === undefined ? now - DEFAULT_SINCE_MS : Date.parse(since),
    until: until === undefined ? now : Date.parse(until),
  };
  if (range.since <= range.until) return range;
  const sinceText = since ?? `${new Date(range.since).toISOString()} (one hour ago)`;
  const untilText = until ?? `${new Date(range.until).toISOString()} (now)`;
  throw new RpcException({ code: 'BAD_REQUEST' satisfies RefusalCode, message: `invalid request: since ${sinceText} is after until ${untilText}` });
}

/** When the server stored the message, in milliseconds since the epoch. */
const storedAt = (msg: JsMsg): number => msg.info.timestampNanos / 1_000_000;

/** A message's audit records; none for anything else published on an audit subject (anyone on the bus can). */
function readRecords(msg: JsMsg): AuditRecord[] {
  try {
    const parsed = AuditMessage.safeParse(msg.json());
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

const matches = (record: AuditRecord, query: AuditQueryRequest, range: TimeRange): boolean => {
  const at = Date.parse(record.at);
  return (
    at >= range.since &&
    at <= range.until &&
    (query.grant === undefined || record.grant === query.grant) &&
    (query.tool === undefined || record.tool === query.tool)
  );
};

/** By the time each call arrived: the stream holds them in the order they ended (an approval can take hours). */
const byTime = (records: AuditRecord[]): AuditRecord[] => records.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));

/** The last `capacity` items pushed, in the order they were pushed. */
class NewestRing<T> {
  private readonly items: T[] = [];
  /** Where the next item goes once full: the oldest one. */
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  toArray(): T[] {
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}
