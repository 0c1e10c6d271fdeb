import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { SessionRef, StoredSession, StuckMark } from '#contracts';
import { projectSession } from '#domain';
import { readSubject, UnreadableEvent } from '#nats';

/** Reading a session's events from the stream failed: NATS' failure, retried later, not the fold's. */
export class StreamReadFailed extends Error {
  constructor(cause: unknown) {
    super(`reading the session's events failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The stream itself lacks an event of the session: what follows it can never be folded. */
export class MissingEvent extends Error {
  constructor(
    readonly seq: number,
    expectedVersion: number,
  ) {
    super(`the session's event ${expectedVersion} is not in the stream before this one`);
  }
}

/**
 * Folds the session's events stored after the view and before `beforeSeq` straight from the stream
 * (`subject` is the session's). Throws {@link UnreadableEvent} for an event that is none,
 * {@link StreamReadFailed} when NATS fails, and, when the whole stream is read (`complete`),
 * {@link MissingEvent} for a gap in the session's versions.
 */
export async function foldFromStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  subject: string,
  ref: SessionRef,
  view: StoredSession | null,
  { beforeSeq = Number.POSITIVE_INFINITY, complete = false } = {},
): Promise<StoredSession | null> {
  const after = view && 'last_seq' in view ? view.last_seq : 0;
  const events = readSubject(js, jsm, subject, after, beforeSeq);
  try {
    for (;;) {
      const next = await events.next().catch((error: unknown) => {
        throw error instanceof UnreadableEvent ? error : new StreamReadFailed(error);
      });
      if (next.done) return view;
      const projection = projectSession(view, next.value.event, next.value.seq, ref.owner);
      if (projection.kind === 'applied') view = projection.view;
      else if (projection.kind === 'gap' && complete) throw new MissingEvent(next.value.seq, projection.expectedVersion);
    }
  } finally {
    await events.return(undefined);
  }
}

/** A failure of the fold itself (an unreadable event, a broken invariant): retrying cannot help, so the session is marked stuck. */
export const isFoldFailure = (error: unknown): boolean => !(error instanceof StreamReadFailed);

/** Where and why a fold failed, for the session's view; `seq` is the event being folded when it did. */
export function stuckMark(error: unknown, seq: number): StuckMark {
  if (error instanceof UnreadableEvent) return { seq: error.seq, reason: error.reason, at: new Date().toISOString() };
  if (error instanceof MissingEvent) return { seq: error.seq, reason: error.message, at: new Date().toISOString() };
  return { seq, reason: error instanceof Error ? error.message : String(error), at: new Date().toISOString() };
}
