import type { Identity, PolicyFile } from '#contracts';
import { SessionAccessDenied } from './errors.js';
import { policyOf } from './policy.js';

/**
 * Whether `reader` may read the sessions of grant `owner`: its own always, another grant's only
 * where its policy says `sessions.read: "all"`. Every read path asks this, and only this.
 */
export function mayReadSessionsOf(file: PolicyFile, reader: Identity, owner: string): boolean {
  return owner === reader.grant || policyOf(file, reader.grant).policy.sessions.read === 'all';
}

/**
 * Whose sessions a read across sessions covers: `requested` when given (and readable), else the
 * reader's own grant — or, where the policy lets it read all, every grant's (null).
 * Throws {@link SessionAccessDenied} for an owner the reader may not read.
 */
export function readOwner(file: PolicyFile, reader: Identity, requested: string | undefined): string | null {
  if (requested !== undefined) {
    if (!mayReadSessionsOf(file, reader, requested)) throw new SessionAccessDenied(reader.grant, requested);
    return requested;
  }
  return policyOf(file, reader.grant).policy.sessions.read === 'all' ? null : reader.grant;
}
