import { renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { eventually } from './harness/processes.js';
import { mcpHeaders, openEventStream, openRawSession, rawPost } from './harness/raw-http.js';
import { System } from './harness/system.js';

/** Generous: the keys file is polled every 0.5 s. */
const REVOCATION_BOUND_MS = 5_000;

const toolsList = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

describe('MCP sessions over Streamable HTTP: event streams and revocation', () => {
  const files = PolicyFiles.create();
  let system: System;
  let aliceKey: string;
  let bobKey: string;

  beforeAll(async () => {
    [aliceKey, bobKey] = [await files.addKey('alice', 'ci'), await files.addKey('bob', 'ci')];
    system = await System.start({ env: { KEYS_FILE: files.keys } });
  });
  afterAll(async () => {
    await system?.stop();
    files.dispose();
  });

  it('sends the headers of a GET /mcp event stream at once, before any event', async () => {
    const url = system.gateway.mcpUrl;
    const stream = await openEventStream(url, await openRawSession(url, bobKey), bobKey);
    try {
      console.log(`GET /mcp event stream: headers after ${stream.headersAfterMs.toFixed(1)} ms`);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream');
      // The first event (a keep-alive) would come after 15 s: headers must not wait for it.
      expect(stream.headersAfterMs).toBeLessThan(3_000);
      expect(stream.received()).toBe('');
    } finally {
      stream.close();
    }
  });

  it("closes a revoked key's MCP sessions and event streams at once, and leaves other keys' sessions working", async () => {
    const url = system.gateway.mcpUrl;
    const bob = await McpTestClient.http(url, { key: bobKey });
    const aliceSession = await openRawSession(url, aliceKey);
    const aliceStream = await openEventStream(url, aliceSession, aliceKey);
    expect(aliceStream.status).toBe(200);
    const bobSession = await openRawSession(url, bobKey);
    const bobStream = await openEventStream(url, bobSession, bobKey);

    const revokedAt = performance.now();
    await files.revoke('alice');
    await within(aliceStream.ended, REVOCATION_BOUND_MS, "alice's event stream ending");
    console.log(`revocation: alice's event stream ended ${(performance.now() - revokedAt).toFixed(0)} ms after "mcp-pytest keys revoke" started`);

    const withSession = (key: string, id: string) => rawPost(url, toolsList, mcpHeaders(key, { 'mcp-session-id': id }));
    expect((await withSession(aliceKey, aliceSession)).status).toBe(401);
    const gone = await withSession(bobKey, aliceSession);
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body!).error.message).toBe(`Session not found: ${aliceSession}`);
    expect((await rawPost(url, toolsList, mcpHeaders(aliceKey))).status).toBe(401);

    expect((await withSession(bobKey, bobSession)).status).toBe(200);
    await bob.ok('record_session_start', { environment });
    expect(await Promise.race([bobStream.ended.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('open'), 200))])).toBe('open');
    bobStream.close();
    await bob.close();
  });

  it('closes every MCP session while the keys file is removed', async () => {
    const url = system.gateway.mcpUrl;
    const bobSession = await openRawSession(url, bobKey);
    const bobStream = await openEventStream(url, bobSession, bobKey);
    const saved = `${files.keys}.saved`;
    renameSync(files.keys, saved);
    try {
      await within(bobStream.ended, REVOCATION_BOUND_MS, "bob's event stream ending");
    } finally {
      renameSync(saved, files.keys);
    }
    await eventually(async () => (await rawPost(url, toolsList, mcpHeaders(bobKey, { 'mcp-session-id': bobSession }))).status === 404, 10_000, 'the key back');
  });
});
