import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { eventSubject, parseEvent, type PytestEvent } from '#contracts';

export interface BacklogMessage {
  subject: string;
  data: string;
  msgID: string;
}

export interface Backlog {
  sessionIds: string[];
  messages: BacklogMessage[];
  /** Test results per session (all passed). */
  resultsPerSession: number;
}

/** The grant the backlog's sessions belong to: the gateway's default local one, so its reads find them. */
export const BACKLOG_OWNER = 'local';
const actor = { agent: 'local', grant: BACKLOG_OWNER, via: 'http', client: 'bench-http/1.0.0' };

/** The envelope of a session's `version`-th event, recorded by the backlog's grant. */
export const backlogEnvelope = (sessionId: string, version: number, at: string) => ({ v: 1 as const, id: randomUUID(), sessionId, version, at, actor });

/** The `version`-th event of a session of `perSession` events: a start, one result each, a finish. */
export function backlogEvent(sessionId: string, version: number, perSession: number, at: string): PytestEvent {
  const envelope = backlogEnvelope(sessionId, version, at);
  if (version === 1) {
    return { type: 'SessionStarted', ...envelope, data: { environment: { os: 'Linux', python_version: '3.12.3' }, project: 'bench' } };
  }
  if (version === perSession) {
    const n = perSession - 2;
    return { type: 'SessionFinished', ...envelope, data: { summary: { total_tests: n, passed: n, failed: 0, skipped: 0, exitstatus: 0 } } };
  }
  const t = version - 1;
  return {
    type: 'TestOutcomesRecorded',
    ...envelope,
    data: {
      results: [{ nodeid: `tests/test_backlog_${t % 7}.py::test_case_${t}`, when: 'call', attempt: 1, outcome: 'passed', duration: 0.001 * (t % 50) }],
    },
  };
}

/**
 * `sessions` sessions of `perSession` events each, interleaved as `concurrent` pytest runs at a
 * time would be: the sessions run in groups, and within a group round-robin, one event each.
 * Every event is a valid envelope (checked with parseEvent on a sample and on every event type).
 */
export function buildBacklog(sessions: number, perSession: number, concurrent: number): Backlog {
  const sessionIds = Array.from({ length: sessions }, () => randomUUID());
  const messages: BacklogMessage[] = [];
  const at = new Date().toISOString();
  for (let group = 0; group < sessions; group += concurrent) {
    const members = sessionIds.slice(group, group + concurrent);
    for (let version = 1; version <= perSession; version++) {
      for (const sessionId of members) {
        const event = backlogEvent(sessionId, version, perSession, at);
        if (messages.length % 101 === 0 || version === 1 || version === perSession || version === 2) parseEvent(event);
        messages.push({ subject: eventSubject({ owner: actor.grant, sessionId }), data: JSON.stringify(event), msgID: event.id });
      }
    }
  }
  return { sessionIds, messages, resultsPerSession: perSession - 2 };
}

/** Publishes in order with up to `inFlight` publishes awaiting their acks. */
export async function publishAll(js: JetStreamClient, messages: BacklogMessage[], inFlight = 256, withMsgId = true): Promise<number> {
  let next = 0;
  let lastSeq = 0;
  const worker = async () => {
    while (next < messages.length) {
      const msg = messages[next++]!;
      const ack = await js.publish(msg.subject, msg.data, withMsgId ? { msgID: msg.msgID } : undefined);
      if (ack.duplicate) throw new Error(`publish of ${msg.msgID} answered duplicate`);
      lastSeq = Math.max(lastSeq, ack.seq);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return lastSeq;
}
