import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RpcException } from '@nestjs/microservices';
import type { KV } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import {
  changeSubject,
  isStuckStub,
  SessionChangeNotice,
  sessionKey,
  type GetSessionRequest,
  type ReadModelGroup,
  type Refusal,
  type SessionRef,
  type SessionView,
  type StoredSession,
} from '#contracts';
import { NATS_CONNECTION, NATS_STORE, openSessionsBucket, type StoreOptions } from '#nats';
import { READ_MODEL_GROUP } from '#read-models';
import type { QueryEnv } from './query.env.js';
import { SessionViewCache } from './session-view.cache.js';

/** Reads session views from the read-model bucket: those of its read-model group. */
@Injectable()
export class SessionsService implements OnModuleInit {
  private kv!: KV;
  private readonly waitMs: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly cache: SessionViewCache,
    @Inject(NATS_STORE) private readonly store: StoreOptions,
    @Inject(READ_MODEL_GROUP) private readonly group: ReadModelGroup,
    config: ConfigService<QueryEnv, true>,
  ) {
    this.waitMs = config.get('READ_WAIT_MS', { infer: true });
  }

  async onModuleInit(): Promise<void> {
    this.kv = await openSessionsBucket(this.nc, this.store);
  }

  /**
   * The view of `owner`'s session; with `min_seq`, once it holds that stream sequence. A view that
   * does not within READ_WAIT_MS is an error rather than a silently older answer. Who may read
   * which owner's sessions is the asker's to decide (the gateway applies the policy).
   */
  async get({ session_id, owner, min_seq }: GetSessionRequest): Promise<SessionView> {
    const ref = { owner, sessionId: session_id };
    let stored = this.cache.get(sessionKey(ref)) ?? (await this.read(ref));
    if (min_seq !== undefined && !covers(stored, min_seq)) stored = await this.waitFor(ref, min_seq);
    if (stored && isStuckStub(stored)) return refuse('SESSION_STUCK', `Session "${session_id}" cannot be shown: ${stuckText(stored)}.`);
    if (min_seq !== undefined && !covers(stored, min_seq)) {
      return refuse(
        'READ_MODEL_BEHIND',
        `Session "${session_id}" is ${stored ? `at stream sequence ${stored.last_seq}` : 'not'} in the read models, ` +
          `not yet at ${min_seq} (the last write read back): the projector is behind or down; retry shortly.`,
      );
    }
    if (stored) return stored;
    return refuse('SESSION_NOT_FOUND', `Grant "${owner}" has no session "${session_id}".`);
  }

  private async read(ref: SessionRef): Promise<StoredSession | null> {
    const readAt = performance.now();
    const entry = await this.kv.get(this.group.viewKey(ref));
    if (entry?.operation !== 'PUT') return null;
    const stored = entry.json<StoredSession>();
    this.cache.offer(sessionKey(ref), stored, readAt);
    return stored;
  }

  /**
   * Waits for a change notice that covers `minSeq`, then reads again — until the view does: the
   * notice may be another read-model group's, ahead of this one.
   */
  private async waitFor(ref: SessionRef, minSeq: number): Promise<StoredSession | null> {
    const notices = this.nc.subscribe(changeSubject(ref));
    const timer = setTimeout(() => notices.unsubscribe(), this.waitMs);
    try {
      // Read after subscribing, so a change between the first read and the subscription is not missed.
      let stored = await this.read(ref);
      if (covers(stored, minSeq)) return stored;
      for await (const msg of notices) {
        const notice = readNotice(msg);
        if (!notice || (notice.status !== 'stuck' && notice.last_seq < minSeq)) continue;
        stored = await this.read(ref);
        if (covers(stored, minSeq)) return stored;
      }
      return await this.read(ref);
    } finally {
      clearTimeout(timer);
      notices.unsubscribe();
    }
  }
}

/** Whether the stored session holds stream sequence `minSeq`, or will not move until re-folded (stuck). */
const covers = (stored: StoredSession | null, minSeq: number): boolean =>
  stored !== null && (Boolean(stored.stuck) || (!isStuckStub(stored) && stored.last_seq >= minSeq));

const refuse = (code: Refusal['code'], message: string): never => {
  throw new RpcException({ code, message } satisfies Refusal);
};

const stuckText = ({ stuck }: Pick<SessionView, 'stuck'>) =>
  `its event at stream sequence ${stuck!.seq} could not be folded (${stuck!.reason}); once fixed, \`npm run refold\` folds it again`;

/** A change notice, or undefined for anything else published on its subject (anyone on the bus can). */
function readNotice(msg: Msg): SessionChangeNotice | undefined {
  try {
    const parsed = SessionChangeNotice.safeParse(msg.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
