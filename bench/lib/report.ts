export interface Row {
  figure: string;
  value: string;
  reference: string;
  ratio: string;
  target: string;
  /** "yes", "NO", or "" (no target: information only). */
  met: string;
}

const HEADERS: Row = { figure: 'figure', value: 'value', reference: 'reference (same run)', ratio: 'ratio', target: 'target', met: 'met?' };
const COLUMNS = Object.keys(HEADERS) as (keyof Row)[];

/** The benchmark's results: each figure beside its reference, printed aligned and as markdown. */
export class Report {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];

  add(row: Partial<Row> & { figure: string; value: string }): void {
    this.rows.push({ reference: '—', ratio: '—', target: '—', met: '', ...row });
  }

  /** A correctness check (no loss, idempotent, …): verified or not. */
  check(figure: string, verified: boolean, target: string): void {
    this.add({ figure, value: verified ? 'verified' : 'NOT VERIFIED', met: verified ? 'yes' : 'NO', target });
  }

  /** A figure whose ratio to its reference must be at least (`higher`) or at most (`lower`) `bound`. */
  compare(
    figure: string,
    value: number,
    reference: number,
    format: (n: number) => string,
    target?: { kind: 'higher' | 'lower'; bound: number },
    referenceLabel = '',
  ): boolean | undefined {
    const ratio = value / reference;
    const met = target ? (target.kind === 'higher' ? ratio >= target.bound : ratio <= target.bound) : undefined;
    this.add({
      figure,
      value: format(value),
      reference: `${format(reference)}${referenceLabel ? ` ${referenceLabel}` : ''}`,
      ratio: Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a',
      target: target ? `${target.kind === 'higher' ? '≥' : '≤'} ${fmtBound(target.bound)}×` : '—',
      met: met === undefined ? '' : met ? 'yes' : 'NO',
    });
    return met;
  }

  text(): string {
    const all = [HEADERS, ...this.rows];
    const width = (c: keyof Row) => Math.max(...all.map((r) => [...r[c]].length));
    const widths = Object.fromEntries(COLUMNS.map((c) => [c, width(c)])) as Record<keyof Row, number>;
    const line = (r: Row) => COLUMNS.map((c) => r[c] + ' '.repeat(widths[c] - [...r[c]].length)).join(' │ ');
    const rule = COLUMNS.map((c) => '─'.repeat(widths[c])).join('─┼─');
    return [line(HEADERS), rule, ...this.rows.map(line)].join('\n');
  }

  markdown(): string {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    const line = (r: Row) => `| ${COLUMNS.map((c) => esc(r[c] || ' ')).join(' | ')} |`;
    return [line(HEADERS), `|${COLUMNS.map(() => '---').join('|')}|`, ...this.rows.map(line)].join('\n');
  }
}

/** 1 → "1.0", 1.25 → "1.25": a bound as it was set. */
const fmtBound = (bound: number) => (Number.isInteger(bound) ? bound.toFixed(1) : String(bound));
