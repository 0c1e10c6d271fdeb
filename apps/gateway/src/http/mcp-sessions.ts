/** What the registry needs of a session: whose it is, and when it was last used. */
export interface HeldSession {
  identity: { agent: string };
  lastUsed: number;
}

/**
 * The open MCP sessions, least recently used first — overall and per agent — with the caps that
 * keep one caller from crowding out the others: beyond its own cap an agent loses its own least
 * recently used session; beyond the overall cap, the agent holding the most loses its least
 * recently used one.
 */
export class McpSessions<S extends HeldSession> {
  private readonly all = new Map<string, S>();
  private readonly byAgent = new Map<string, Map<string, S>>();

  constructor(
    private readonly max: number,
    private readonly maxPerAgent: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  get(id: string): S | undefined {
    return this.all.get(id);
  }

  ids(): string[] {
    return [...this.all.keys()];
  }

  /** The session was just used: it moves to the end of both orders. */
  touch(id: string, now: number): void {
    const session = this.all.get(id);
    if (!session) return;
    session.lastUsed = now;
    this.remove(id, session);
    this.add(id, session);
  }

  /** Adds a session; answers the one that must be closed so the caps hold (no longer held), if any. */
  admit(id: string, session: S): S | undefined {
    this.add(id, session);
    const own = this.byAgent.get(session.identity.agent)!;
    let evicted: string | undefined;
    if (own.size > this.maxPerAgent) evicted = first(own);
    else if (this.all.size > this.max) evicted = first([...this.byAgent.values()].reduce((most, next) => (next.size > most.size ? next : most)));
    if (evicted === undefined) return undefined;
    const closing = this.all.get(evicted)!;
    this.remove(evicted, closing);
    return closing;
  }

  delete(id: string): void {
    const session = this.all.get(id);
    if (session) this.remove(id, session);
  }

  /** Sessions not used since `cutoff`. */
  idleSince(cutoff: number): string[] {
    const idle: string[] = [];
    for (const [id, session] of this.all) {
      if (session.lastUsed >= cutoff) break;
      idle.push(id);
    }
    return idle;
  }

  private add(id: string, session: S): void {
    this.all.set(id, session);
    const agent = session.identity.agent;
    let own = this.byAgent.get(agent);
    if (!own) this.byAgent.set(agent, (own = new Map<string, S>()));
    own.set(id, session);
  }

  private remove(id: string, session: S): void {
    this.all.delete(id);
    const own = this.byAgent.get(session.identity.agent);
    own?.delete(id);
    if (own?.size === 0) this.byAgent.delete(session.identity.agent);
  }
}

const first = (sessions: Map<string, unknown>): string => sessions.keys().next().value!;
