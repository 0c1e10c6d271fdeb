import { describe, expect, it } from 'vitest';
import { McpSessions } from './mcp-sessions.js';

const session = (agent: string, lastUsed = 0) => ({ identity: { agent }, lastUsed });
type Held = ReturnType<typeof session>;

describe('McpSessions', () => {
  it("closes an agent's own least recently used session beyond its cap, whoever else is open", () => {
    const sessions = new McpSessions<Held>(100, 2);
    const a2 = session('a');
    sessions.admit('b1', session('b'));
    expect([sessions.admit('a1', session('a')), sessions.admit('a2', a2)]).toEqual([undefined, undefined]);
    sessions.touch('a1', 5);
    expect(sessions.admit('a3', session('a'))).toBe(a2);
    expect(sessions.ids()).toEqual(['b1', 'a1', 'a3']);
  });

  it('beyond the overall cap, closes the least recently used session of the agent holding the most', () => {
    const sessions = new McpSessions<Held>(4, 10);
    const a1 = session('a');
    sessions.admit('b1', session('b'));
    sessions.admit('a1', a1);
    for (const id of ['a2', 'a3']) sessions.admit(id, session('a'));
    expect(sessions.admit('c1', session('c'))).toBe(a1);
    expect(sessions.ids()).toEqual(['b1', 'a2', 'a3', 'c1']);
  });

  it('lists the sessions idle since a time, least recently used first', () => {
    const sessions = new McpSessions(10, 10);
    sessions.admit('x', session('a', 1));
    sessions.admit('y', session('b', 2));
    sessions.touch('x', 30);
    expect(sessions.idleSince(10)).toEqual(['y']);
    sessions.delete('y');
    expect(sessions.idleSince(100)).toEqual(['x']);
  });
});
