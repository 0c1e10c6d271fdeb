import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFUSAL_CODES } from './refusals.js';

describe('refusal codes', () => {
  it('are spelled one way: UPPER_SNAKE', () => {
    for (const code of REFUSAL_CODES) expect(code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
  });

  it('are each documented in the README errors table, and the table names no other', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('### Errors'), readme.indexOf('### Limits'));
    const documented = new Set([...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap(([, cell]) => [...cell!.matchAll(/`([A-Z_]+)`/g)].map(([, code]) => code)));
    expect([...documented].sort()).toEqual([...REFUSAL_CODES].sort());
  });
});
