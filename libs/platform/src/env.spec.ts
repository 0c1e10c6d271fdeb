import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDotEnv, readSettings, settingsFile } from './env.js';

const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder holding a `.env` with `text`. */
function project(name: string, text: string): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, '.env'), text);
  return folder;
}

describe('settings file', () => {
  it('is the project’s .env where it exists, whatever the working directory', () => {
    const root = project('with-env', 'NATS_URL=nats://elsewhere:4222\n');
    expect(settingsFile({}, root)).toBe(join(root, '.env'));
    expect(settingsFile({}, join(dir, 'no-such-project'))).toBeUndefined();
  });

  it('is MCP_PYTEST_ENV_FILE where set, and none where it is empty', () => {
    const root = project('chosen', '');
    const other = project('other', '');
    expect(settingsFile({ MCP_PYTEST_ENV_FILE: join(other, '.env') }, root)).toBe(join(other, '.env'));
    expect(settingsFile({ MCP_PYTEST_ENV_FILE: '' }, root)).toBeUndefined();
  });

  it('names the variable when the file it names does not exist', () => {
    expect(() => settingsFile({ MCP_PYTEST_ENV_FILE: join(dir, 'missing.env') })).toThrow(
      `Invalid configuration: MCP_PYTEST_ENV_FILE=${join(dir, 'missing.env')}: no such file`,
    );
  });

  it('takes relative file settings (KEYS_FILE, NATS_PASSWORD_FILE, …) from its own folder, other values as written', () => {
    const root = project(
      'paths',
      'KEYS_FILE=config/keys.json\nNATS_PASSWORD_FILE=secrets/nats\nPOLICY_FILE=/etc/mcp/policy.json\nNATS_URL=nats://a:4222\nGATEWAY_AGENT=me\n',
    );
    expect(readSettings(join(root, '.env'))).toEqual({
      KEYS_FILE: join(root, 'config', 'keys.json'),
      NATS_PASSWORD_FILE: join(root, 'secrets', 'nats'),
      POLICY_FILE: '/etc/mcp/policy.json',
      NATS_URL: 'nats://a:4222',
      GATEWAY_AGENT: 'me',
    });
  });

  it('loads into the environment, where variables already set (even empty) win', () => {
    const root = project('load', 'POLICY_FILE=policy.json\nKEYS_FILE=keys.json\nNATS_URL=nats://from-file:4222\n');
    const env: NodeJS.ProcessEnv = { MCP_PYTEST_ENV_FILE: join(root, '.env'), NATS_URL: 'nats://set:4222', KEYS_FILE: '' };
    loadDotEnv(env);
    expect(env).toEqual({ MCP_PYTEST_ENV_FILE: join(root, '.env'), NATS_URL: 'nats://set:4222', KEYS_FILE: '', POLICY_FILE: join(root, 'policy.json') });
  });
});
