import { randomUUID } from 'node:crypto';
import { AUDIT_BOUNDS, type Actor, type Identity, type SessionRef } from '#contracts';
import { LRUCache } from 'lru-cache';
import { Refused } from './refusal-result.js';

/** The calls of one MCP connection carry no session_id beyond its first start: this says which. */
export class NoSessionGiven extends Refused {
  constructor(why = 'no session was started on this MCP connection (call record_session_start first, or pass session_id)') {
    super('NO_SESSION', `session_id is required: ${why}.`);
  }
}

/** Sessions (of the caller's own grant) whose last write sequence one connection remembers, for reading its own writes. */
const REMEMBERED_WRITES = 1000;

/** What the gateway knows of one MCP connection: who calls, and what it wrote. */
export class McpConnection {
  /** The MCP session id over HTTP; the `session` scope of policy limits. */
  readonly id = randomUUID();
  readonly actor: Actor;
  private lastStarted?: string;
  private readonly lastWrites = new LRUCache<string, number>({ max: REMEMBERED_WRITES });

  constructor(
    readonly identity: Identity,
    via: string,
  ) {
    this.actor = { agent: identity.agent, grant: identity.grant, via };
  }

  identifyClient(client: { name: string; version: string } | undefined): void {
    if (client) this.actor.client = `${client.name}/${client.version}`.slice(0, AUDIT_BOUNDS.clientChars);
  }

  /** The given session of the caller's own grant, else the one last started on this connection. */
  sessionFor(given: string | undefined): SessionRef {
    const sessionId = given ?? this.lastStarted;
    if (sessionId === undefined) throw new NoSessionGiven();
    return { owner: this.identity.grant, sessionId };
  }

  started(sessionId: string): void {
    this.lastStarted = sessionId;
  }

  wrote(sessionId: string, seq: number): void {
    this.lastWrites.set(sessionId, Math.max(seq, this.lastWrites.get(sessionId) ?? 0));
  }

  /** Stream sequence of this connection's last write to the session, if it wrote one. */
  lastWriteTo(sessionId: string): number | undefined {
    return this.lastWrites.peek(sessionId);
  }
}
