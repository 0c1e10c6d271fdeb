import type { NatsConnection } from '@nats-io/transport-node';
import { changeSubject, isStuckStub, type SessionChangeNotice, type SessionRef, type StoredSession } from '#contracts';

/** Tells subscribers (query caches, dashboards) that a session's view changed. */
export function publishChange(nc: NatsConnection, ref: SessionRef, stored: StoredSession): void {
  const notice: SessionChangeNotice = isStuckStub(stored)
    ? { session_id: ref.sessionId, owner: ref.owner, status: 'stuck', last_seq: 0, version: 0, counts: null }
    : {
        session_id: ref.sessionId,
        owner: ref.owner,
        status: stored.stuck ? 'stuck' : stored.status,
        last_seq: stored.last_seq,
        version: stored.version,
        counts: stored.counts,
      };
  nc.publish(changeSubject(ref), JSON.stringify(notice));
}
