import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyError, RequestBodies, UploadAbandoned } from './request-bodies.js';

/** A request body as node:http delivers it: a stream with the request's headers. */
const upload = (headers: Record<string, string> = {}) => Object.assign(new PassThrough(), { headers }) as PassThrough & IncomingMessage;
const json = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));

describe('RequestBodies', () => {
  it('holds a declared length from before the first byte until the body is parsed', async () => {
    const bodies = new RequestBodies(100, 120);
    const req = upload({ 'content-length': String(json.length) });
    const read = bodies.readJson(req);
    expect(bodies.inFlight).toBe(json.length);
    await expect(bodies.readJson(upload({ 'content-length': '100' }))).rejects.toMatchObject({ status: 503, retryAfterSeconds: 1 });
    req.end(json);
    expect(await read).toEqual({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(bodies.inFlight).toBe(0);
  });

  it('refuses a declared length over the limit with 413 before reading', async () => {
    const bodies = new RequestBodies(100, 1000);
    await expect(bodies.readJson(upload({ 'content-length': '101' }))).rejects.toMatchObject({ status: 413, message: expect.stringMatching(/over 100 bytes/) });
    expect(bodies.inFlight).toBe(0);
  });

  it('counts a chunked body as it arrives: 413 beyond the limit, 503 beyond the budget, and gives it back', async () => {
    const bodies = new RequestBodies(100, 150);
    const tooLong = upload({ 'transfer-encoding': 'chunked' });
    const refused = bodies.readJson(tooLong);
    tooLong.write(Buffer.alloc(60, 0x20));
    tooLong.write(Buffer.alloc(60, 0x20));
    await expect(refused).rejects.toMatchObject({ status: 413 });
    expect(bodies.inFlight).toBe(0);

    const holding = upload({ 'content-length': '100' });
    const held = bodies.readJson(holding);
    const chunked = upload({ 'transfer-encoding': 'chunked' });
    const busy = bodies.readJson(chunked);
    chunked.write(Buffer.alloc(60, 0x20));
    await expect(busy).rejects.toBeInstanceOf(BodyError);
    expect(bodies.inFlight).toBe(100);
    holding.end(Buffer.concat([json, Buffer.alloc(100 - json.length, 0x20)]));
    await held;
    expect(bodies.inFlight).toBe(0);
  });

  it('gives back what an abandoned upload held, and says how far it got', async () => {
    const bodies = new RequestBodies(100, 150);
    const req = upload({ 'content-length': '100' });
    const read = bodies.readJson(req);
    req.write(Buffer.alloc(40, 0x20));
    await new Promise((resolve) => setImmediate(resolve));
    req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await expect(read).rejects.toThrow(new UploadAbandoned(40, 100));
    expect(bodies.inFlight).toBe(0);
  });
});
