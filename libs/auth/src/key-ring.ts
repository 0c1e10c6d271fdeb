import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { KeysFile, type Identity } from '#contracts';
import type { OperatorHttpEnv } from './auth.env.js';
import { WatchedJsonFile } from './watched-json-file.js';

interface KnownKey {
  identity: Identity;
  digest: Buffer;
  /** The key's line in the file (digest, agent, grant): what a reload must keep for its identity to stay the same. */
  entry: string;
}

/** Why a request is not authenticated, as told to the caller. */
export class Unauthenticated {
  constructor(readonly message: string) {}
}

export const UNKNOWN_KEY = new Unauthenticated('unknown or revoked key');

/**
 * The bearer keys of KEYS_FILE (their SHA-256 only), reloaded when the file changes, so a revoked
 * key stops working without a restart. Each key proves one Identity object, the same across reloads
 * while its line stays: what was opened with a key can be told apart once that key is gone.
 * Without a keys file, HTTP callers are not authenticated.
 */
@Injectable()
export class KeyRing implements OnModuleDestroy {
  private readonly log = new Logger('Keys');
  private readonly file?: WatchedJsonFile<typeof KeysFile>;
  private known: KnownKey[] = [];
  private proven = new Set<Identity>();
  private readonly changed = new Set<() => void>();

  constructor(config: ConfigService<OperatorHttpEnv, true>) {
    const path = config.get('KEYS_FILE', { infer: true });
    if (!path) return;
    this.file = new WatchedJsonFile(path, KeysFile, this.log, { keys: [] });
    this.remember(this.file.current);
    this.file.onChange((keys) => this.remember(keys));
    this.log.log(`${this.known.length} key(s) from ${path} (reloaded when it changes)`);
  }

  /** Whether callers must present a key. */
  get enabled(): boolean {
    return this.file !== undefined;
  }

  /** The identity an `Authorization: Bearer <key>` header proves. Every known key is compared, in constant time each. */
  authenticate(authorization: string | undefined): Identity | Unauthenticated {
    const key = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization ?? '')?.[1];
    if (key === undefined) return new Unauthenticated('missing bearer key: send "Authorization: Bearer <key>" (keys come from `mcp-pytest keys add`)');
    const digest = createHash('sha256').update(key).digest();
    let found: Identity | undefined;
    for (const known of this.known) if (timingSafeEqual(digest, known.digest)) found = known.identity;
    return found ?? UNKNOWN_KEY;
  }

  /** Whether `identity` (as answered by `authenticate`) is still proven by a key in force: false once its key is revoked. */
  proves(identity: Identity): boolean {
    return this.proven.has(identity);
  }

  /** Calls `listener` after each reload of the keys; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changed.add(listener);
    return () => this.changed.delete(listener);
  }

  private remember({ keys }: KeysFile): void {
    const kept = new Map(this.known.map((known) => [known.entry, known.identity]));
    this.known = keys.map(({ agent, grant, sha256 }) => {
      const entry = `${sha256} ${agent} ${grant}`;
      return { identity: kept.get(entry) ?? { agent, grant }, digest: Buffer.from(sha256, 'hex'), entry };
    });
    this.proven = new Set(this.known.map((known) => known.identity));
    for (const listener of this.changed) listener();
  }

  onModuleDestroy(): void {
    this.file?.close();
  }
}
