import { describe, expect, it } from 'vitest';
import { planLeases } from './lease-plan.js';

const partitions = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'old'];

describe('planLeases', () => {
  it('takes every partition when it is the only replica', () => {
    expect(planLeases({ partitions, held: new Set(), free: new Set(partitions), replicas: 1 })).toEqual({ take: partitions, release: [] });
  });

  it('lets go of the excess when another replica joins', () => {
    expect(planLeases({ partitions, held: new Set(partitions), free: new Set(), replicas: 2 })).toEqual({ take: [], release: ['p5', 'p6', 'p7', 'old'] });
  });

  it('takes free partitions up to its share, never one held by another', () => {
    const free = new Set(['p5', 'p6', 'p7', 'old']);
    expect(planLeases({ partitions, held: new Set(), free, replicas: 2 })).toEqual({ take: ['p5', 'p6', 'p7', 'old'], release: [] });
    expect(planLeases({ partitions, held: new Set(['p0']), free, replicas: 3 })).toEqual({ take: ['p5', 'p6'], release: [] });
  });

  it('takes over the partitions of a replica that died once they are free', () => {
    const held = new Set(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(planLeases({ partitions, held, free: new Set(['p5', 'p6', 'p7', 'old']), replicas: 1 })).toEqual({ take: ['p5', 'p6', 'p7', 'old'], release: [] });
  });

  it('keeps what it holds when at its share', () => {
    expect(planLeases({ partitions, held: new Set(['p0', 'p1', 'p2']), free: new Set(['p8']), replicas: 3 })).toEqual({ take: [], release: [] });
  });
});
