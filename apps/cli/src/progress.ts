/** Where progress goes: stderr, so stdout keeps only the result lines. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 24;
/** A bar appears only for work that takes this long: small imports print nothing but their result. */
const SHOW_AFTER_MS = 300;
/** Redraws at most this often on a terminal… */
const REDRAW_MS = 100;
/** …and writes a plain line this often elsewhere (a CI log), so a long import shows it is alive. */
const LOG_EVERY_MS = 10_000;

/**
 * Outcomes sent so far, out of a total where one is known (a file read whole) or counting up (--follow).
 * On a terminal: one line redrawn in place and cleared at the end; elsewhere: a line every 10 s at most.
 */
export class Progress {
  private done = 0;
  private readonly startedAt: number;
  private lastWrite = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly total?: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  add(count: number): void {
    this.done += count;
    const now = this.now();
    if (now - this.startedAt < SHOW_AFTER_MS) return;
    if (this.stream.isTTY) {
      if (now - this.lastWrite < REDRAW_MS && this.done !== this.total) return;
      this.stream.write(`\r${this.line(true).slice(0, (this.stream.columns ?? 80) - 1)}\u001b[K`);
      this.drawn = true;
    } else {
      if (now - (this.lastWrite || this.startedAt) < LOG_EVERY_MS) return;
      this.stream.write(`${this.line(false)}\n`);
    }
    this.lastWrite = now;
  }

  /** Clears the bar, so the result line that follows stands alone. */
  end(): void {
    if (this.drawn) this.stream.write('\r\u001b[K');
    this.drawn = false;
  }

  private line(bar: boolean): string {
    if (this.total === undefined) return `${this.label}: ${this.done} outcomes sent`;
    const share = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const filled = Math.round(share * BAR_WIDTH);
    const graphic = bar ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` : '';
    return `${this.label}: ${graphic}${Math.floor(share * 100)}% ${this.done}/${this.total} outcomes sent`;
  }
}
