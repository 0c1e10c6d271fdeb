import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_PARTITIONS, EVENTS_SUBJECTS, readModelGroup } from '#contracts';

// nats/users.conf names subjects one by one (NATS matches whole tokens only): it must follow the contracts.
const usersConf = readFileSync(new URL('../../../nats/users.conf', import.meta.url), 'utf8');

describe('nats/users.conf', () => {
  it('lets the gateway publish events on the subjects the stream takes', () => {
    expect(usersConf).toContain(`"${EVENTS_SUBJECTS}"`);
  });

  it('keeps the gateway from pulling from or dropping every projector consumer', () => {
    const group = readModelGroup();
    const durables = [
      group.unpartitionedDurable,
      group.ownerlessDurable,
      ...Array.from({ length: EVENT_PARTITIONS }, (_, partition) => group.durable(partition)),
    ];
    for (const durable of durables) {
      expect(usersConf).toContain(`"$JS.API.CONSUMER.MSG.NEXT.PYTEST_EVENTS.${durable}"`);
      expect(usersConf).toContain(`"$JS.API.CONSUMER.DELETE.PYTEST_EVENTS.${durable}"`);
    }
  });
});
