import { describe, expect, it } from 'vitest';
import { EVENT_PARTITIONS, eventPartition, eventSubject, legacyEventSubject, sessionRefOfSubject, unpartitionedEventSubject } from './subjects.js';

describe('event subjects', () => {
  it('name the session in each of their three forms', () => {
    const ref = { owner: 'ci', sessionId: 'run-42' };
    expect(eventSubject(ref)).toBe(`pytest.events.ci.run-42.${eventPartition(ref)}`);
    for (const subject of [eventSubject(ref), unpartitionedEventSubject(ref)]) expect(sessionRefOfSubject(subject)).toEqual(ref);
    expect(sessionRefOfSubject(legacyEventSubject('old-1'))).toEqual({ owner: 'local', sessionId: 'old-1' });
  });

  it('spread sessions over every partition, each session always on the same one', () => {
    const counts = new Array<number>(EVENT_PARTITIONS).fill(0);
    for (let i = 0; i < 8000; i++) counts[eventPartition({ owner: `agent-${i % 16}`, sessionId: `run-${i}` })]!++;
    // FNV-1a spreads 8000 keys within ±15% of an even share.
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(150);
    expect(eventPartition({ owner: 'ci', sessionId: 'run-42' })).toBe(eventPartition({ owner: 'ci', sessionId: 'run-42' }));
  });
});
