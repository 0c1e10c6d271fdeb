import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { approvalDecisionMsgId, approvalSubject, type ApprovalDecided, type ApprovalRequested } from '#contracts';
import {
  ensureApprovalsStream,
  isWrongLastSequence,
  JETSTREAM,
  JETSTREAM_MANAGER,
  lastApprovalEvent,
  NATS_CONNECTION,
  NATS_STORE,
  type StoreOptions,
} from '#nats';
import type { GatewayEnv } from '../gateway.env.js';

export type ApprovalRequest = Omit<ApprovalRequested, 'type' | 'v' | 'id' | 'at' | 'expires_at'>;

export interface Waiting {
  id: string;
  elapsedMs: number;
  timeoutMs: number;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const newApprovalId = () => [...randomBytes(12)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');

/**
 * Calls that wait for a person. A request and its one decision are events on the approval's own
 * subject; whoever decides first (a person with `mcp-pytest approvals`, the timeout, a cancelled
 * call) wins by JetStream's expected last subject sequence, and everyone reads that decision.
 */
@Injectable()
export class ApprovalDesk implements OnModuleInit {
  private readonly tickMs: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.tickMs = config.get('APPROVAL_PROGRESS_SECONDS', { infer: true }) * 1000;
  }

  onModuleInit(): Promise<void> {
    return ensureApprovalsStream(this.jsm, this.store);
  }

  /**
   * Asks for approval and waits for the decision; `waiting` is called once at first and then every
   * APPROVAL_PROGRESS_SECONDS. An aborted `signal` withdraws the request.
   */
  async decide(request: ApprovalRequest, timeoutMs: number, signal: AbortSignal, waiting: (state: Waiting) => void): Promise<ApprovalDecided> {
    const id = newApprovalId();
    const subject = approvalSubject(id);
    const started = Date.now();
    const expires = started + timeoutMs;
    // Subscribed before the request exists, so no decision can slip past. What arrives is only a
    // hint: a publish the stream refused (a decision that lost the race) reaches subscribers too,
    // so the decision is the one stored.
    const subscription = this.nc.subscribe(subject);
    const decided = (async () => {
      for await (const _ of subscription) {
        const stored = await this.decision(id).catch(() => undefined);
        if (stored) return stored;
      }
      return undefined;
    })();
    try {
      const requested: ApprovalRequested = {
        type: 'ApprovalRequested',
        v: 1,
        id,
        at: new Date(started).toISOString(),
        expires_at: new Date(expires).toISOString(),
        ...request,
      };
      const { seq } = await this.js.publish(subject, JSON.stringify(requested), { msgID: id, expect: { lastSubjectSequence: 0 } });
      waiting({ id, elapsedMs: 0, timeoutMs });
      for (;;) {
        const tick = sleep(Math.max(0, Math.min(this.tickMs, expires - Date.now())), undefined, { signal }).catch(() => undefined);
        const decision = await Promise.race([decided, tick]);
        if (decision) return decision;
        if (signal.aborted) return await this.close(id, seq, 'withdrawn', 'caller', 'the call was cancelled');
        if (Date.now() >= expires) return await this.close(id, seq, 'expired', 'timeout', `nobody decided within ${timeoutMs / 1000}s`);
        // A decision published while this connection was reconnecting reached no subscriber.
        const stored = await this.decision(id);
        if (stored) return stored;
        waiting({ id, elapsedMs: Date.now() - started, timeoutMs });
      }
    } finally {
      subscription.unsubscribe();
    }
  }

  /** Decides on the gateway's side, unless someone decided first: then that decision stands. */
  private async close(id: string, requestSeq: number, decision: 'expired' | 'withdrawn', by: string, reason: string): Promise<ApprovalDecided> {
    const event: ApprovalDecided = { type: 'ApprovalDecided', v: 1, id, at: new Date().toISOString(), decision, by, reason };
    let error: unknown;
    try {
      const ack = await this.js.publish(approvalSubject(id), JSON.stringify(event), {
        msgID: approvalDecisionMsgId(id),
        expect: { lastSubjectSequence: requestSeq },
      });
      if (!ack.duplicate) return event;
      error = new Error(`approval ${id} was decided meanwhile`);
    } catch (refused) {
      if (!isWrongLastSequence(refused)) throw refused;
      error = refused;
    }
    const stored = await this.decision(id);
    if (!stored) throw error;
    return stored;
  }

  /** The stored decision on an approval, if there is one. */
  private async decision(id: string): Promise<ApprovalDecided | undefined> {
    const last = await lastApprovalEvent(this.jsm, id);
    return last?.event.type === 'ApprovalDecided' ? last.event : undefined;
  }
}
