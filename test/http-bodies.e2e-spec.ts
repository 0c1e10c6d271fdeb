import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from './harness/apps.js';
import { PolicyFiles } from './harness/policy-files.js';
import { eventually } from './harness/processes.js';
import { mcpHeaders, memoryOf, paddedMessage, postWholeThenRead, rawPost, resetPeak, stalledPost, type RawAnswer } from './harness/raw-http.js';
import { System } from './harness/system.js';

const MiB = 1024 * 1024;
const CONCURRENT = 128;
/** Generous: the bodies alone are 512 MiB; the budget keeps what is read at once to MCP_BODY_BUDGET_MB. */
const GROWTH_BOUND_MB = 300;

describe('HTTP request bodies: memory stays bounded under concurrent large bodies', () => {
  const files = PolicyFiles.create();
  let system: System;
  let key: string;

  beforeAll(async () => {
    key = await files.addKey('reader', 'dashboards');
    system = await System.start({ env: { KEYS_FILE: files.keys } });
  });
  afterAll(async () => {
    await system?.stop();
    files.dispose();
  });

  /**
   * Fires CONCURRENT POSTs of `body` at once at a fresh gateway (so each figure starts from the same
   * place); the answers, and how far the gateway's RSS peaked above where it was.
   */
  async function load(what: string, body: Buffer, headers: Record<string, string>): Promise<{ answers: RawAnswer[]; growthMb: number }> {
    const gateway = await App.start('gateway', { ...system.env, KEYS_FILE: files.keys });
    try {
      const before = memoryOf(gateway.pid).rssMb;
      resetPeak(gateway.pid);
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => rawPost(gateway.mcpUrl, body, headers)));
      const after = memoryOf(gateway.pid);
      const growthMb = after.peakMb - before;
      console.log(
        `${CONCURRENT} × ${body.length / MiB} MiB POSTs ${what}: gateway RSS ${before.toFixed(0)} MB before, ` +
          `peak ${after.peakMb.toFixed(0)} MB (+${growthMb.toFixed(0)} MB), ${after.rssMb.toFixed(0)} MB after`,
      );
      return { answers, growthMb };
    } finally {
      await gateway.stop();
    }
  }

  const statuses = (answers: RawAnswer[]) => answers.map((answer) => answer.status ?? answer.error);

  it('answers POSTs to an unknown MCP session 404 without reading their bodies', async () => {
    const { answers, growthMb } = await load('to an unknown session', paddedMessage(4 * MiB), mcpHeaders(key, { 'mcp-session-id': 'no-such-session' }));
    expect(new Set(statuses(answers))).toEqual(new Set([404]));
    expect(growthMb).toBeLessThan(GROWTH_BOUND_MB);
  });

  it('answers POSTs without a key 401 without reading their bodies', async () => {
    const { answers, growthMb } = await load('without a key', paddedMessage(4 * MiB), mcpHeaders());
    expect(new Set(statuses(answers))).toEqual(new Set([401]));
    expect(growthMb).toBeLessThan(GROWTH_BOUND_MB);
  });

  it('reads bodies it must read (no session yet) within the budget, and answers the rest 503 with Retry-After', async () => {
    const { answers, growthMb } = await load('without a session (read, then 400)', paddedMessage(4 * MiB), mcpHeaders(key));
    expect(new Set(statuses(answers))).toEqual(new Set([400, 503]));
    const busy = answers.find((answer) => answer.status === 503)!;
    expect(busy.headers!['retry-after']).toBe('1');
    expect(JSON.parse(busy.body!).error.message).toMatch(/request bodies being read .* MCP_BODY_BUDGET_MB/);
    expect(growthMb).toBeLessThan(GROWTH_BOUND_MB);
  });

  it('refuses a chunked body beyond 4 MiB with 413 as it reads it, and the client (still sending) gets that answer', async () => {
    const answer = await rawPost(system.gateway.mcpUrl, paddedMessage(5 * MiB), mcpHeaders(key), { chunked: true });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body!).error.message).toMatch(/request body over 4194304 bytes/);
    // A client that reads only once it has sent everything: the rest (beyond what socket buffers
    // hold) must be drained, not left unread nor reset under it.
    expect(await postWholeThenRead(system.gateway.mcpUrl, paddedMessage(40 * MiB), mcpHeaders(key), 15_000)).toBe('HTTP/1.1 413 Payload Too Large');
  });

  it("holds a stalled upload's share of the budget only until the client goes away, and logs that in one info line", async () => {
    const gateway = await App.start('gateway', { ...system.env, KEYS_FILE: files.keys, MCP_BODY_BUDGET_MB: '4' });
    try {
      const url = gateway.mcpUrl;
      const small = paddedMessage(1000);
      const stalled = stalledPost(url, 4 * MiB, MiB, mcpHeaders(key));
      const busy = await eventually(
        async () => {
          const answer = await rawPost(url, small, mcpHeaders(key));
          return answer.status === 503 && answer;
        },
        10_000,
        'the stalled upload to hold the whole budget',
      );
      expect(busy.headers!['retry-after']).toBe('1');
      expect((await rawPost(url, small, mcpHeaders(key), { chunked: true })).status).toBe(503);

      stalled.destroy();
      await eventually(async () => (await rawPost(url, small, mcpHeaders(key))).status === 400, 10_000, 'the budget given back');
      await gateway.proc.waitFor(/LOG \[McpHttp\] POST \/mcp: the client went away mid-upload \(\d+ of 4194304 bytes received\)/);
      expect(gateway.proc.logs.match(/went away/g)).toHaveLength(1);
      expect(gateway.proc.logs).not.toMatch(/ERROR/);
    } finally {
      await gateway.stop();
    }
  });
});
