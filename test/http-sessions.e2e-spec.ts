import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyFiles } from './harness/policy-files.js';
import { openEventStream, openRawSession } from './harness/raw-http.js';
import { System } from './harness/system.js';

describe('MCP sessions over Streamable HTTP: event streams', () => {
  const files = PolicyFiles.create();
  let system: System;
  let bobKey: string;

  beforeAll(async () => {
    bobKey = await files.addKey('bob', 'ci');
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
});
