import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errors, nkeys } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { natsAuth, refusedCredentials, type NatsAuthSetting } from './auth.js';

const dir = mkdtempSync(join(tmpdir(), 'nats-auth-'));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const from = (settings: Partial<Record<NatsAuthSetting, string>>) => natsAuth((name) => settings[name]);

describe('natsAuth', () => {
  it('is anonymous without settings', () => {
    expect(from({})).toEqual({});
  });

  it('gives a user and its password, from the setting or a file (trimmed)', () => {
    expect(from({ NATS_USER: 'gateway', NATS_PASSWORD: 's3cret' })).toEqual({ user: 'gateway', pass: 's3cret', inboxPrefix: '_INBOX.gateway' });
    expect(from({ NATS_USER: 'gateway', NATS_PASSWORD_FILE: file('pass', 's3cret\n') })).toMatchObject({ user: 'gateway', pass: 's3cret' });
  });

  it('names the setting and the file it cannot read', () => {
    const missing = join(dir, 'missing');
    expect(() => from({ NATS_USER: 'gateway', NATS_PASSWORD_FILE: missing })).toThrow(`NATS_PASSWORD_FILE=${missing}: cannot read it`);
    expect(() => from({ NATS_NKEY_SEED_FILE: missing })).toThrow(`NATS_NKEY_SEED_FILE=${missing}: cannot read it`);
    const empty = file('empty', '\n');
    expect(() => from({ NATS_USER: 'gateway', NATS_PASSWORD_FILE: empty })).toThrow(`NATS_PASSWORD_FILE=${empty}: the file is empty`);
  });

  it('refuses settings that do not say one way to authenticate', () => {
    expect(() => from({ NATS_USER: 'gateway' })).toThrow('NATS_USER is set without NATS_PASSWORD or NATS_PASSWORD_FILE');
    expect(() => from({ NATS_PASSWORD: 's3cret' })).toThrow('a NATS password is set without NATS_USER');
    expect(() => from({ NATS_USER: 'gateway', NATS_PASSWORD: 'a', NATS_PASSWORD_FILE: file('p2', 'b') })).toThrow('both set');
    expect(() => from({ NATS_USER: 'gateway', NATS_PASSWORD: 'a', NATS_CREDS_FILE: file('c', 'x') })).toThrow('NATS_USER and NATS_CREDS_FILE are set together');
  });

  it('signs with an nkey seed from a file, and names a file that holds none', () => {
    const user = nkeys.createUser();
    const auth = from({ NATS_NKEY_SEED_FILE: file('seed', `${new TextDecoder().decode(user.getSeed())}\n`) });
    expect(auth.authenticator?.('nonce')).toMatchObject({ nkey: user.getPublicKey() });
    expect(auth.inboxPrefix).toBe(`_INBOX.${user.getPublicKey()}`);
    expect(() => from({ NATS_NKEY_SEED_FILE: file('bad-seed', 'hunter2') })).toThrow('not an nkey seed');
  });

  it('names a creds file without a user JWT', () => {
    expect(() => from({ NATS_CREDS_FILE: file('bad-creds', 'hunter2') })).toThrow('not a NATS creds file');
  });
});

describe('refusedCredentials', () => {
  it('says the server refused the credentials, and nothing of other errors', () => {
    expect(refusedCredentials(new errors.AuthorizationError('Authorization Violation'), 'nats://n:4222')).toMatch(
      /^NATS at nats:\/\/n:4222 refused the credentials \(Authorization Violation\)/,
    );
    expect(refusedCredentials(new Error('connection refused'), 'nats://n:4222')).toBeUndefined();
  });
});
