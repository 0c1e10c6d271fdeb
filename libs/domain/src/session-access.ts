import type { Identity, PolicyFile } from '#contracts';
import { policyOf } from './policy.js';

/**
 * Whether `reader` may read the sessions of grant `owner`: its own always, another grant's only
 * where its policy says `sessions.read: "all"`. Every read path asks this, and only this.
 */
export function mayReadSessionsOf(file: PolicyFile, reader: Identity, owner: string): boolean {
  return owner === reader.grant || policyOf(file, reader.grant).policy.sessions.read === 'all';
}
