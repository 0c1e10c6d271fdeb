import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFUSAL_CODES, REFUSALS } from './refusals.js';

describe('refusal codes', () => {
  it('are spelled one way: UPPER_SNAKE', () => {
    for (const code of REFUSAL_CODES) expect(code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
  });

  it('are the errors table of docs/tools.md, row for row, each said as in the contracts', () => {
    const readme = readFileSync(new URL('../../../docs/tools.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| code | when |'), readme.indexOf('\n\n', readme.indexOf('| code | when |')));
    const rows = Object.fromEntries([...table.matchAll(/^\| `([A-Z_]+)` \| (.+) \|$/gm)].map(([, code, when]) => [code, when]));
    expect(rows).toEqual(REFUSALS);
  });
});
