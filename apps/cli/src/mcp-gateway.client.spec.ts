import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError, UsageError } from './cli.js';
import { DEFAULT_MCP_URL, gatewayTarget } from './mcp-gateway.client.js';

const SPOOL = { url: 'http://attacker.example:8080/mcp', from: 'the spool spool.jsonl' };

describe('gatewayTarget', () => {
  const saved = { url: process.env.MCP_PYTEST_URL, token: process.env.MCP_PYTEST_TOKEN };
  beforeEach(() => {
    delete process.env.MCP_PYTEST_URL;
    delete process.env.MCP_PYTEST_TOKEN;
  });
  afterEach(() => {
    for (const [name, value] of [
      ['MCP_PYTEST_URL', saved.url],
      ['MCP_PYTEST_TOKEN', saved.token],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('takes --url, else MCP_PYTEST_URL, else the default; --token, else MCP_PYTEST_TOKEN', () => {
    expect(gatewayTarget({})).toEqual({ url: new URL(DEFAULT_MCP_URL), key: undefined });
    process.env.MCP_PYTEST_URL = 'https://gw.example/mcp';
    process.env.MCP_PYTEST_TOKEN = 'env-key';
    expect(gatewayTarget({})).toEqual({ url: new URL('https://gw.example/mcp'), key: 'env-key' });
    expect(gatewayTarget({ url: 'http://other:3000/mcp', token: 'flag-key' })).toEqual({ url: new URL('http://other:3000/mcp'), key: 'flag-key' });
  });

  it("never sends a key to the URL a file names: with a key, the user's own URL, or a refusal naming the file's", () => {
    const refusal = `a key is sent only to a URL you configured: give --url or MCP_PYTEST_URL; the spool spool.jsonl names "${SPOOL.url}", a URL its writer chose`;
    expect(() => gatewayTarget({ token: 'flag-key' }, SPOOL)).toThrow(new CliError(refusal));
    process.env.MCP_PYTEST_TOKEN = 'env-key';
    expect(() => gatewayTarget({}, SPOOL)).toThrow(new CliError(refusal));
    expect(gatewayTarget({ url: 'https://gw.example/mcp' }, SPOOL)).toEqual({ url: new URL('https://gw.example/mcp'), key: 'env-key' });
    process.env.MCP_PYTEST_URL = 'https://gw.example/mcp';
    expect(gatewayTarget({}, SPOOL)).toEqual({ url: new URL('https://gw.example/mcp'), key: 'env-key' });
  });

  it("uses the file's URL where no key goes out", () => {
    expect(gatewayTarget({}, SPOOL)).toEqual({ url: new URL(SPOOL.url), key: undefined });
  });

  it('names a URL that is not http(s) and where it came from, clipped', () => {
    expect(() => gatewayTarget({ url: 'ftp://x' })).toThrow(
      new UsageError(`invalid URL "ftp://x" (--url): give the gateway's MCP endpoint, e.g. ${DEFAULT_MCP_URL}`),
    );
    const long = `file:///${'a'.repeat(5_000_000)}`;
    const error = (() => {
      try {
        gatewayTarget({}, { url: long, from: 'the spool s.jsonl' });
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toBeInstanceOf(CliError);
    expect(error!.message).toMatch(/^invalid URL "file:\/\/\/a+…" \(the spool s\.jsonl\): give /);
    expect(error!.message.length).toBeLessThan(400);
  });
});
