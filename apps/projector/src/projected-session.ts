import { isStuckStub, type PytestEvent, type SessionRef, type StoredSession } from '#contracts';
import type { ProjectedSession } from '#read-models';

/** An event folded into a session's view, and where it sits in the stream. */
export interface AppliedEvent {
  seq: number;
  event: PytestEvent;
}

/** What a session's folded events change in the SQL read models (nothing for a session with no view to show). */
export function projectedSession(ref: SessionRef, view: StoredSession | null, applied: AppliedEvent[]): ProjectedSession | undefined {
  if (applied.length === 0 || !view || isStuckStub(view)) return undefined;
  const started = applied.find(({ event }) => event.type === 'SessionStarted');
  const results = applied.flatMap(({ seq, event }) =>
    event.type === 'TestOutcomesRecorded' ? event.data.results.map((result, index) => ({ seq, index, at: event.at, result })) : [],
  );
  return { ref, view, startSeq: started?.seq, results };
}
