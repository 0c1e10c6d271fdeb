import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distEntry, root } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { System } from './harness/system.js';
import { environment } from './harness/fixtures.js';

const denyXpassed = {
  version: '1',
  default: 'allow',
  tools: {
    record_test_outcome: { deny_if: [{ path: 'args.outcome', op: 'eq', value: 'xpassed' }], on_deny: 'xpassed outcomes go through CI' },
    record_test_outcomes: { deny_if: [{ path: 'args.outcomes.outcome', op: 'eq', value: 'xpassed' }], on_deny: 'xpassed outcomes go through CI' },
  },
};
const xpassed = { nodeid: 't.py::x', outcome: 'xpassed', duration: 1 };
const DENIED = '[POLICY_DENIED] record_test_outcome: xpassed outcomes go through CI (rule: tools.record_test_outcome.deny_if[0])';

describe('settings: one file, whichever folder an MCP client starts the gateway in', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-settings-'));
  /** A copy of the built project, as a user's checkout that an MCP client's config points at. */
  const install = join(dir, 'install');
  /** Where a client may start the gateway: a folder of its own, whose `.env` must not count. */
  const elsewhere = join(dir, 'elsewhere');
  let system: System;

  beforeAll(async () => {
    cpSync(join(root, 'package.json'), join(install, 'package.json'));
    for (const part of ['apps', 'libs']) cpSync(join(root, 'dist', part), join(install, 'dist', part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(install, 'node_modules'));
    writeFileSync(join(install, 'policy.json'), JSON.stringify(denyXpassed));
    // A relative path, as the README's keys and policy steps write it: taken from the .env's folder.
    writeFileSync(join(install, '.env'), 'POLICY_FILE=policy.json\n');
    mkdirSync(elsewhere);
    // Were this read, the gateway would not start: its policy file does not exist.
    writeFileSync(join(elsewhere, '.env'), 'POLICY_FILE=no-such-policy.json\n');
    system = await System.start({ gateways: 0 });
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a stdio gateway in `elsewhere`, records a session start and sends an xpassed outcome: its answer. */
  async function xpassedAnswer(env: Record<string, string | undefined>, entry: string): Promise<string | 'accepted'> {
    const client = await McpTestClient.stdio({ ...system.env, ...env }, { args: [entry], cwd: elsewhere });
    try {
      await client.ok('record_session_start', { environment });
      const result = await client.call('record_test_outcome', xpassed);
      return result.isError ? result.content.map((c) => (c.type === 'text' ? c.text : '')).join('') : 'accepted';
    } finally {
      await client.close();
    }
  }

  it("reads the project's .env (beside its package.json), not the working directory's, relative paths from its folder", async () => {
    // No MCP_PYTEST_ENV_FILE: as an MCP client's config launches it.
    expect(await xpassedAnswer({ MCP_PYTEST_ENV_FILE: undefined }, join(install, 'dist/apps/gateway/src/main.stdio.js'))).toBe(DENIED);
  });

  it('reads the file MCP_PYTEST_ENV_FILE names instead, relative paths from its folder', async () => {
    const settings = join(dir, 'settings');
    mkdirSync(settings);
    writeFileSync(join(settings, 'gateway.env'), 'POLICY_FILE=../install/policy.json\n');
    expect(await xpassedAnswer({ MCP_PYTEST_ENV_FILE: join(settings, 'gateway.env') }, distEntry('apps/gateway/src/main.stdio.js'))).toBe(DENIED);
  });

  it("leaves the project's .env out of what the tests start", async () => {
    expect(await xpassedAnswer({}, join(install, 'dist/apps/gateway/src/main.stdio.js'))).toBe('accepted');
  });
});
