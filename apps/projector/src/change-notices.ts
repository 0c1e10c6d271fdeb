import { headers, type NatsConnection } from '@nats-io/transport-node';
import { changeSubject, isStuckStub, projectChangeSubject, sessionKey, type SessionChangeNotice, type SessionRef, type StoredSession } from '#contracts';

/**
 * Tells subscribers (query caches, dashboards) that a session's view changed: per session, and per
 * project when it has one. Each read-model group publishes its own (a query app's cache must hear
 * its own group's); the change stream keeps one per change, told apart by `Nats-Msg-Id`, while live
 * subscribers may hear a change once per group.
 */
export function publishChange(nc: NatsConnection, ref: SessionRef, stored: StoredSession): void {
  const notice: SessionChangeNotice = isStuckStub(stored)
    ? { session_id: ref.sessionId, owner: ref.owner, status: 'stuck', last_seq: 0, version: 0, counts: null }
    : {
        session_id: ref.sessionId,
        owner: ref.owner,
        status: stored.stuck ? 'stuck' : stored.status,
        project: stored.project,
        last_seq: stored.last_seq,
        version: stored.version,
        counts: stored.counts,
      };
  const payload = JSON.stringify(notice);
  const msgId = headers();
  msgId.set('Nats-Msg-Id', `${sessionKey(ref)}@${notice.last_seq}:${notice.status}`);
  nc.publish(changeSubject(ref), payload, { headers: msgId });
  if (notice.project) nc.publish(projectChangeSubject(ref.owner, notice.project), payload);
}
