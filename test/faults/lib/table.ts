import { passed, type Row } from './drill.js';

const COLUMNS = ['drill', 'acknowledged', 'stored', 'lost', 'duplicated', 'recovery', 'ok'] as const;

const cells = (row: Row): Record<(typeof COLUMNS)[number], string> => ({
  drill: row.drill,
  acknowledged: String(row.acknowledged),
  stored: String(row.stored),
  lost: String(row.lost),
  duplicated: String(row.duplicated),
  recovery: row.recoveryMs === undefined ? '—' : `${(row.recoveryMs / 1000).toFixed(2)} s`,
  ok: passed(row) ? 'yes' : 'NO',
});

/** One drill as it finishes: its row, what it did, its notes and what did not hold. */
export function describeRow(row: Row): string {
  const c = cells(row);
  return [
    `${row.drill}: ${c.ok === 'yes' ? 'ok' : 'FAILED'}`,
    `  did: ${row.did}`,
    `  acknowledged ${c.acknowledged}, stored ${c.stored}, lost ${c.lost}, duplicated ${c.duplicated}, recovery ${c.recovery}`,
    ...row.notes.map((note) => `  ${note}`),
    ...row.problems.map((problem) => `  !!! ${problem}`),
  ].join('\n');
}

/** Every drill's row, aligned. */
export function table(rows: Row[]): string {
  const all = [Object.fromEntries(COLUMNS.map((c) => [c, c])) as ReturnType<typeof cells>, ...rows.map(cells)];
  const width = (c: (typeof COLUMNS)[number]) => Math.max(...all.map((r) => [...r[c]].length));
  const line = (r: ReturnType<typeof cells>) => COLUMNS.map((c) => r[c].padEnd(width(c))).join(' │ ');
  return [line(all[0]!), COLUMNS.map((c) => '─'.repeat(width(c))).join('─┼─'), ...all.slice(1).map(line)].join('\n');
}
