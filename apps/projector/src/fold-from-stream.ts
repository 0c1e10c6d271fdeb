import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { boundedReason, type PytestEvent, type SessionRef, type StoredSession, type StuckMark } from '#contracts';
import { projectSession, stuckSession, type Projection } from '#domain';
import { readSubject, UnreadableEvent } from '#nats';

/** Reading a session's events from the stream failed: NATS' failure, retried later, not the fold's. */
export class StreamReadFailed extends Error {
  constructor(cause: unknown) {
    super(`reading the session's events failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Messages by subject (each names one session), in the order they came. */
export function bySubject<M extends { subject: string }>(msgs: M[]): Map<string, M[]> {
  const subjects = new Map<string, M[]>();
  for (const msg of msgs) {
    const list = subjects.get(msg.subject);
    if (list) list.push(msg);
    else subjects.set(msg.subject, [msg]);
  }
  return subjects;
}

export const stuckAt = (seq: number, reason: string): StuckMark => ({ seq, reason: boundedReason(reason), at: new Date().toISOString() });

/** Why an event waits for good: the stream itself lacks the session's event before it. */
export const missingBefore = (expectedVersion: number): string => `the session's event ${expectedVersion} is not in the stream before this one`;

/** {@link projectSession}, with a broken invariant (a bug) turned into an event that cannot be folded, rather than a crash. */
export function foldEvent(view: StoredSession | null, event: PytestEvent, seq: number, ref: SessionRef): Projection {
  try {
    return projectSession(view, event, seq, ref.owner);
  } catch (error) {
    return { kind: 'invalid', reason: error instanceof Error ? error.message : String(error) };
  }
}

/** One event folded onto the view, the session's events being read in order from the stream. */
interface StreamStep {
  view: StoredSession | null;
  applied: boolean;
  /** Folding the session ends here: it is stuck (and the view says where). */
  done: boolean;
}

/**
 * Folds one event of a session read in order from the stream: an event that cannot be folded
 * leaves the session stuck at it, as does one whose predecessor is missing when the whole stream is
 * read (`complete`); otherwise (read from some point on) such an event is passed over, as is one
 * folded before.
 */
export function stepInStream(view: StoredSession | null, event: PytestEvent, seq: number, ref: SessionRef, complete: boolean): StreamStep {
  const projection = foldEvent(view, event, seq, ref);
  switch (projection.kind) {
    case 'applied':
      return { view: projection.view, applied: true, done: false };
    case 'invalid':
      return { view: stuckSession(view, ref, stuckAt(seq, projection.reason)), applied: false, done: true };
    case 'gap':
      if (!complete) return { view, applied: false, done: false };
      return { view: stuckSession(view, ref, stuckAt(seq, missingBefore(projection.expectedVersion))), applied: false, done: true };
    case 'stuck':
      return { view, applied: false, done: true };
    case 'skipped':
      return { view, applied: false, done: false };
  }
}

/**
 * Folds the session's events stored after the view and before `beforeSeq` straight from the stream
 * (`subject` is the session's). An event that cannot be folded (unreadable, invalid, or, when the
 * whole stream is read (`complete`), one whose predecessor is missing) leaves the session stuck at
 * it: the view returned is the last good one with the mark. `onApplied` hears each event folded.
 * Throws {@link StreamReadFailed} only, when NATS fails.
 */
export async function foldFromStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  subject: string,
  ref: SessionRef,
  view: StoredSession | null,
  {
    beforeSeq = Number.POSITIVE_INFINITY,
    complete = false,
    onApplied,
  }: { beforeSeq?: number; complete?: boolean; onApplied?: (seq: number, event: PytestEvent) => void } = {},
): Promise<StoredSession | null> {
  const after = view && 'last_seq' in view ? view.last_seq : 0;
  const events = readSubject(js, jsm, subject, after, beforeSeq);
  try {
    for (;;) {
      let next: IteratorResult<{ seq: number; event: PytestEvent }>;
      try {
        next = await events.next();
      } catch (error) {
        if (error instanceof UnreadableEvent) return stuckSession(view, ref, stuckAt(error.seq, error.reason));
        throw new StreamReadFailed(error);
      }
      if (next.done) return view;
      const { seq, event } = next.value;
      const step = stepInStream(view, event, seq, ref, complete);
      view = step.view;
      if (step.applied) onApplied?.(seq, event);
      if (step.done) return view;
    }
  } finally {
    // Closing the reader only frees its consumer; a failure to do so changes nothing folded.
    await events.return(undefined).catch(() => undefined);
  }
}
