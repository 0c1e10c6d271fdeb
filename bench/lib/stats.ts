/** Latency samples in milliseconds, summarised by nearest-rank percentiles. */
export class Latencies {
  private samples: number[] = [];
  private sorted?: number[];

  add(ms: number): void {
    this.samples.push(ms);
    this.sorted = undefined;
  }

  get count(): number {
    return this.samples.length;
  }

  percentile(p: number): number {
    if (this.samples.length === 0) return Number.NaN;
    this.sorted ??= [...this.samples].sort((a, b) => a - b);
    const rank = Math.min(this.sorted.length - 1, Math.max(0, Math.ceil((p / 100) * this.sorted.length) - 1));
    return this.sorted[rank]!;
  }

  get p50(): number {
    return this.percentile(50);
  }

  get p99(): number {
    return this.percentile(99);
  }
}

/** "1.23 ms" or "456 µs". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

export function fmtRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond)) return 'n/a';
  return `${Math.round(perSecond).toLocaleString('en-US')} ${unit}`;
}

export function fmtUs(us: number): string {
  return Number.isFinite(us) ? `${Math.round(us).toLocaleString('en-US')} µs` : 'n/a';
}

export function fmtMiB(kib: number): string {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : 'n/a';
}

export function fmtRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a';
}
