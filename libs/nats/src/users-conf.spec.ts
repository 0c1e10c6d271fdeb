import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_PARTITIONS, EVENTS_SUBJECTS, OWNERLESS_PROJECTOR_DURABLE, projectorDurable, UNPARTITIONED_PROJECTOR_DURABLE } from '#contracts';

// nats/users.conf names subjects one by one (NATS matches whole tokens only): it must follow the contracts.
const usersConf = readFileSync(new URL('../../../nats/users.conf', import.meta.url), 'utf8');

describe('nats/users.conf', () => {
  it('lets the gateway publish events on the subjects the stream takes', () => {
    expect(usersConf).toContain(`"${EVENTS_SUBJECTS}"`);
  });

  it('keeps the gateway from pulling from or dropping every projector consumer', () => {
    const durables = [
      UNPARTITIONED_PROJECTOR_DURABLE,
      OWNERLESS_PROJECTOR_DURABLE,
      ...Array.from({ length: EVENT_PARTITIONS }, (_, partition) => projectorDurable(partition)),
    ];
    for (const durable of durables) {
      expect(usersConf).toContain(`"$JS.API.CONSUMER.MSG.NEXT.PYTEST_EVENTS.${durable}"`);
      expect(usersConf).toContain(`"$JS.API.CONSUMER.DELETE.PYTEST_EVENTS.${durable}"`);
    }
  });
});
