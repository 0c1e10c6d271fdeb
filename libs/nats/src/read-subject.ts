import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { z } from 'zod';
import { boundedReason, describeIssues, EVENTS_STREAM, parseEvent, type PytestEvent } from '#contracts';

/** A stored message that is not a valid event (written by other means, or by a version with other rules). */
export class UnreadableEvent extends Error {
  constructor(
    readonly seq: number,
    readonly reason: string,
  ) {
    super(`the event at stream sequence ${seq} cannot be read: ${reason}`);
  }
}

/** The event a stored message holds; {@link UnreadableEvent} when it holds none. */
export function readEvent(msg: { seq: number; json<T>(): T }): PytestEvent {
  try {
    return parseEvent(msg.json());
  } catch (error) {
    throw new UnreadableEvent(msg.seq, describeParseError(error));
  }
}

/** A schema violation as its issues, anything else as its message. */
function describeParseError(error: unknown): string {
  if (error instanceof z.ZodError) return describeIssues(error);
  return boundedReason(error instanceof Error ? error.message : String(error));
}

export interface StoredEvent {
  seq: number;
  event: PytestEvent;
}

/** Stream sequence of the last event stored on `subject` (a direct get: any replica may answer); 0 when there is none. */
export async function lastSeqOn(jsm: JetStreamManager, subject: string): Promise<number> {
  return (await jsm.direct.getMessage(EVENTS_STREAM, { last_by_subj: subject }))?.seq ?? 0;
}

/** Direct gets before switching to a consumer: a consumer costs a few round trips to set up. */
const DIRECT_READS = 32;

/**
 * The events stored on `subject` after stream sequence `afterSeq` and before `beforeSeq`, in order:
 * one direct get each for the few that a catch-up usually needs, a consumer for a long history
 * (a session of 100k events loads in a second instead of 100k round trips).
 */
export async function* readSubject(
  js: JetStreamClient,
  jsm: JetStreamManager,
  subject: string,
  afterSeq: number,
  beforeSeq = Number.POSITIVE_INFINITY,
): AsyncGenerator<StoredEvent> {
  let seq = afterSeq + 1;
  for (let reads = 0; reads < DIRECT_READS; reads++) {
    if (seq >= beforeSeq) return;
    const msg = await jsm.direct.getMessage(EVENTS_STREAM, { next_by_subj: subject, seq });
    if (!msg || msg.seq >= beforeSeq) return;
    yield { seq: msg.seq, event: readEvent(msg) };
    seq = msg.seq + 1;
  }
  const endSeq = Math.min(await lastSeqOn(jsm, subject), beforeSeq - 1);
  if (endSeq < seq) return;
  // An ephemeral consumer with one filter subject (nats-server 2.9 has no ordered consumers with filters).
  const { name } = await jsm.consumers.add(EVENTS_STREAM, {
    filter_subject: subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: seq,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    inactive_threshold: 30_000_000_000,
  });
  const messages = await (await js.consumers.get(EVENTS_STREAM, name)).consume({ max_messages: 1000 });
  try {
    for await (const msg of messages) {
      yield { seq: msg.seq, event: readEvent(msg) };
      if (msg.seq >= endSeq) return;
    }
  } finally {
    await messages.close();
    await jsm.consumers.delete(EVENTS_STREAM, name).catch(() => undefined);
  }
}
