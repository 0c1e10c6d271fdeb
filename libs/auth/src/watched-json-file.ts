import { existsSync, statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from '@nestjs/common';
import type { z } from 'zod';
import { readJsonFile } from '#platform';

/** How often a watched file's stat is polled: robust to editors and `mv` replacing the file. */
const POLL_MS = 500;

/**
 * A JSON file in force: read and validated at start (an invalid one throws, so start-up fails
 * closed), then re-read whenever it changes. An invalid new version is logged and ignored; the
 * one in force stays. A removed file is replaced by `whenRemoved` where one is given (e.g. no
 * keys: removing the keys file locks everyone out rather than keeping old keys valid).
 */
export class WatchedJsonFile<S extends z.ZodType> {
  private value: z.output<S>;
  private readonly listeners = new Set<(value: z.output<S>) => void>();
  /**
   * Compared with the version last read rather than with the previous poll: after a removal, the
   * poller reports a file put back as unchanged from the one before the removal.
   */
  private seen: string;
  private readonly onStat = (now: Stats) => {
    const version = versionOf(now);
    if (version === this.seen) return;
    this.seen = version;
    this.reload();
  };

  constructor(
    readonly path: string,
    private readonly schema: S,
    private readonly log: Logger,
    private readonly whenRemoved?: z.output<S>,
  ) {
    this.seen = versionOf(statSync(path, { throwIfNoEntry: false }));
    this.value = readJsonFile(path, schema);
    watchFile(path, { interval: POLL_MS, persistent: false }, this.onStat);
  }

  get current(): z.output<S> {
    return this.value;
  }

  /** Calls `listener` with each new valid version; returns the unsubscribe. */
  onChange(listener: (value: z.output<S>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reload(): void {
    if (this.whenRemoved !== undefined && !existsSync(this.path)) {
      this.log.warn(`${this.path} was removed: ${JSON.stringify(this.whenRemoved)} is in force until it is back`);
      return this.apply(this.whenRemoved);
    }
    try {
      this.apply(readJsonFile(this.path, this.schema));
      this.log.log(`reloaded ${this.path}`);
    } catch (error) {
      this.log.error(`${(error as Error).message}\n  → change rejected; the version read before stays in force`);
    }
  }

  private apply(value: z.output<S>): void {
    this.value = value;
    for (const listener of this.listeners) listener(value);
  }

  close(): void {
    unwatchFile(this.path, this.onStat);
  }
}

/** What tells one version of a file from the next (all zero while it is missing). */
const versionOf = (stats: Stats | undefined) => (stats ? `${stats.ino}:${stats.size}:${stats.mtimeMs}` : '0:0:0');
