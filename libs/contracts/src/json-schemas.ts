import { z } from 'zod';
import { PytestEvent } from './events.js';
import { GetSessionRequest, SessionChangeNotice, SessionView } from './views.js';

/** What other programs read or send over NATS, as JSON Schemas derived from the zod contracts (schemas/). */
const PUBLIC = {
  event: PytestEvent,
  'session-view': SessionView,
  'session-change-notice': SessionChangeNotice,
  'get-session-request': GetSessionRequest,
} as const;

export function jsonSchemas(): Record<keyof typeof PUBLIC, object> {
  return Object.fromEntries(
    Object.entries(PUBLIC).map(([name, schema]) => [name, z.toJSONSchema(schema, { io: 'output', target: 'draft-2020-12' })]),
  ) as Record<keyof typeof PUBLIC, object>;
}
