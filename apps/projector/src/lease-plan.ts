/** What a projector replica knows at one renewal: the partitions, which it holds, which no one holds, how many replicas live. */
export interface LeaseState {
  partitions: readonly string[];
  held: ReadonlySet<string>;
  free: ReadonlySet<string>;
  replicas: number;
}

/**
 * The partitions to take and to let go so that the replicas converge on an even share: each holds
 * at most ceil(partitions / replicas). A replica over its share lets go of the excess (the last
 * ones), one under it takes free partitions (the first ones), so two replicas rarely reach for the
 * same one, and a race for one is settled by the lease store anyway.
 */
export function planLeases({ partitions, held, free, replicas }: LeaseState): { take: string[]; release: string[] } {
  const share = Math.ceil(partitions.length / Math.max(1, replicas));
  const mine = partitions.filter((partition) => held.has(partition));
  if (mine.length > share) return { take: [], release: mine.slice(share) };
  const available = partitions.filter((partition) => free.has(partition) && !held.has(partition));
  return { take: available.slice(0, share - mine.length), release: [] };
}
