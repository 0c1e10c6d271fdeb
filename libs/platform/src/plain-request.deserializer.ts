import type { IncomingEvent, IncomingRequest } from '@nestjs/microservices';
import { NatsRequestJSONDeserializer } from '@nestjs/microservices';

type NatsMessage = { json<T>(): T };

/**
 * Lets any NATS client ask the query app: a request whose body is plain JSON (not Nest's
 * `{pattern, data, id}` packet) is answered on its reply subject like a Nest request.
 */
export class PlainRequestDeserializer extends NatsRequestJSONDeserializer {
  override async deserialize(value: NatsMessage, options?: { channel?: string; replyTo?: string }): Promise<IncomingRequest | IncomingEvent> {
    let message: IncomingRequest | IncomingEvent;
    try {
      message = await super.deserialize(value, options);
    } catch {
      message = { pattern: options?.channel, data: undefined };
    }
    return 'id' in message || !options?.replyTo ? message : { ...message, id: options.replyTo };
  }
}
