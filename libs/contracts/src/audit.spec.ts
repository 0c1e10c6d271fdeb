import { describe, expect, it } from 'vitest';
import { AUDIT_BOUNDS, AuditRecord } from './audit.js';

const record = {
  id: 'r-1',
  at: '2026-11-24T10:00:00.000Z',
  agent: 'ci-runner-1',
  grant: 'ci',
  via: 'http',
  tool: 'record_test_outcome',
  arg_keys: ['nodeid'],
  decision: 'denied',
  latency_ms: 0.5,
};

describe('audit record: what a caller chooses is bounded', () => {
  it('keeps names up to their bound', () => {
    const longest = {
      tool: 't'.repeat(AUDIT_BOUNDS.nameChars),
      client: 'c'.repeat(AUDIT_BOUNDS.clientChars),
      arg_keys: Array.from({ length: AUDIT_BOUNDS.argKeys }, () => 'a'.repeat(AUDIT_BOUNDS.nameChars)),
    };
    expect(AuditRecord.safeParse({ ...record, ...longest }).success).toBe(true);
  });

  it.each([
    ['tool', { tool: 't'.repeat(AUDIT_BOUNDS.nameChars + 1) }],
    ['client', { client: 'c'.repeat(AUDIT_BOUNDS.clientChars + 1) }],
    ['arg_keys', { arg_keys: Array.from({ length: AUDIT_BOUNDS.argKeys + 1 }, (_, i) => `a${i}`) }],
    ['arg_keys', { arg_keys: ['a'.repeat(AUDIT_BOUNDS.nameChars + 1)] }],
  ])('refuses a record with a longer %s', (field, longer) => {
    const result = AuditRecord.safeParse({ ...record, ...longer });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});
