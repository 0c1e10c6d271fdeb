import { describe, expect, it } from 'vitest';
import { ALLOW_ALL, PolicyFile } from '#contracts';
import { mayReadSessionsOf } from './session-access.js';

const ci = { agent: 'runner-1', grant: 'ci' };
const dashboards = { agent: 'board', grant: 'dashboards' };

describe('reading sessions across grants', () => {
  it('lets a grant read its own sessions and no other by default', () => {
    expect(mayReadSessionsOf(ALLOW_ALL, ci, 'ci')).toBe(true);
    expect(mayReadSessionsOf(ALLOW_ALL, ci, 'dashboards')).toBe(false);
  });

  it('lets a grant read all sessions only where its own policy says so', () => {
    const file = PolicyFile.parse({ version: '1', default: 'allow', grants: { dashboards: { default: 'allow', sessions: { read: 'all' } } } });
    expect(mayReadSessionsOf(file, dashboards, 'ci')).toBe(true);
    expect(mayReadSessionsOf(file, ci, 'dashboards')).toBe(false);
    const everyone = PolicyFile.parse({ version: '1', default: 'allow', sessions: { read: 'all' } });
    expect(mayReadSessionsOf(everyone, ci, 'dashboards')).toBe(true);
  });
});
