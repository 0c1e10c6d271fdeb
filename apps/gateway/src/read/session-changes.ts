import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { changeSubject, type SessionRef } from '#contracts';
import { NATS_CONNECTION } from '#nats';

/** The projector's change notices of one session, for MCP resource subscriptions. */
@Injectable()
export class SessionChanges {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  /** Calls `changed` after each update of the session's view; returns the unsubscribe. */
  watch(ref: SessionRef, changed: () => void): () => void {
    const subscription: Subscription = this.nc.subscribe(changeSubject(ref), {
      callback: (error) => {
        if (!error) changed();
      },
    });
    return () => subscription.unsubscribe();
  }
}
