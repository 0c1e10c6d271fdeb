import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from '@nestjs/common';
import type { z } from 'zod';
import { readJsonFile } from '#platform';

/** How often a watched file's stat is polled: robust to editors and `mv` replacing the file. */
const POLL_MS = 500;

/**
 * A JSON file in force: read and validated at start (an invalid one throws, so start-up fails
 * closed), then re-read whenever it changes. An invalid new version is logged and ignored; the
 * one in force stays.
 */
export class WatchedJsonFile<S extends z.ZodType> {
  private value: z.output<S>;
  private readonly listeners = new Set<(value: z.output<S>) => void>();
  private readonly onStat = (now: Stats, before: Stats) => {
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) this.reload();
  };

  constructor(
    readonly path: string,
    private readonly schema: S,
    private readonly log: Logger,
  ) {
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
    try {
      this.value = readJsonFile(this.path, this.schema);
    } catch (error) {
      this.log.error(`${(error as Error).message}\n  → change rejected; the version read before stays in force`);
      return;
    }
    this.log.log(`reloaded ${this.path}`);
    for (const listener of this.listeners) listener(this.value);
  }

  close(): void {
    unwatchFile(this.path, this.onStat);
  }
}
