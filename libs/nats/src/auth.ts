import { readFileSync } from 'node:fs';
import { credsAuthenticator, errors, nkeyAuthenticator, nkeys, type Authenticator } from '@nats-io/transport-node';

/** The settings naming who a program is to NATS (see NatsEnv); none: anonymous. */
export type NatsAuthSetting = 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_PASSWORD_FILE' | 'NATS_NKEY_SEED_FILE' | 'NATS_CREDS_FILE';

/** Connection options of a NATS client (`connect`, Nest's NATS transport) that authenticate it. */
export interface NatsAuth {
  user?: string;
  pass?: string;
  authenticator?: Authenticator;
  /**
   * Replies come to `_INBOX.<user>.…` (the user's name or nkey): a server config can then let each
   * user subscribe to its own replies only, not read every other program's (`_INBOX.>`).
   */
  inboxPrefix?: string;
}

const inboxOf = (identity: string): string => `_INBOX.${identity}`;

/** Nest token of the app's NatsAuth (NatsModule), for its other NATS clients (Nest's NATS transport). */
export const NATS_AUTH = Symbol('NatsAuth');

/** A file's text, or a start-up error naming the setting and the file. */
function readSecret(setting: NatsAuthSetting, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new Error(`${setting}=${file}: cannot read it: ${(error as Error).message}`, { cause: error });
  }
  if (!text) throw new Error(`${setting}=${file}: the file is empty`);
  return text;
}

/** A user's password, given as NATS_PASSWORD or read from NATS_PASSWORD_FILE (one of them). */
function password(setting: (name: NatsAuthSetting) => string | undefined): string {
  const [value, file] = [setting('NATS_PASSWORD'), setting('NATS_PASSWORD_FILE')];
  if (value && file) throw new Error('NATS_PASSWORD and NATS_PASSWORD_FILE are both set: set one');
  if (file) return readSecret('NATS_PASSWORD_FILE', file);
  if (value) return value;
  throw new Error('NATS_USER is set without NATS_PASSWORD or NATS_PASSWORD_FILE');
}

/** An nkey seed (`SU…`) read from NATS_NKEY_SEED_FILE, checked at start rather than at the first connect. */
function nkeySeed(file: string): Uint8Array {
  const seed = new TextEncoder().encode(readSecret('NATS_NKEY_SEED_FILE', file));
  try {
    nkeys.fromSeed(seed).getPublicKey();
  } catch {
    throw new Error(`NATS_NKEY_SEED_FILE=${file}: not an nkey seed (a line starting SU…, as \`nk -gen user\` writes)`);
  }
  return seed;
}

/** A creds file (a user JWT and its seed, as `nsc` writes them) read from NATS_CREDS_FILE. */
function creds(file: string): Uint8Array {
  const text = readSecret('NATS_CREDS_FILE', file);
  if (!text.includes('-----BEGIN NATS USER JWT-----')) throw new Error(`NATS_CREDS_FILE=${file}: not a NATS creds file (no user JWT in it)`);
  return new TextEncoder().encode(text);
}

/**
 * The credentials the settings name, as connection options: a user and password, an nkey, or a
 * creds file; none set: anonymous. Files are read now, so a missing or bad one stops start-up naming it.
 */
export function natsAuth(setting: (name: NatsAuthSetting) => string | undefined): NatsAuth {
  const user = setting('NATS_USER');
  const [seedFile, credsFile] = [setting('NATS_NKEY_SEED_FILE'), setting('NATS_CREDS_FILE')];
  const chosen = [user && 'NATS_USER', seedFile && 'NATS_NKEY_SEED_FILE', credsFile && 'NATS_CREDS_FILE'].filter(Boolean);
  if (chosen.length > 1) throw new Error(`${chosen.join(' and ')} are set together: set one way to authenticate to NATS`);
  if (user) return { user, pass: password(setting), inboxPrefix: inboxOf(user) };
  if (seedFile) {
    const seed = nkeySeed(seedFile);
    return { authenticator: nkeyAuthenticator(seed), inboxPrefix: inboxOf(nkeys.fromSeed(seed).getPublicKey()) };
  }
  if (credsFile) return { authenticator: credsAuthenticator(creds(credsFile)) };
  if (setting('NATS_PASSWORD') || setting('NATS_PASSWORD_FILE')) throw new Error('a NATS password is set without NATS_USER');
  return {};
}

/** The NATS server refused the credentials (its "Authorization Violation"), said plainly; else undefined. */
export function refusedCredentials(error: unknown, url: string): string | undefined {
  if (!(error instanceof errors.AuthorizationError)) return undefined;
  return `NATS at ${url} refused the credentials (${error.message}): check NATS_USER and its password, NATS_NKEY_SEED_FILE or NATS_CREDS_FILE`;
}
