import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Agent, request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/** What a raw request got: the answer, or the error that ended it first (e.g. ECONNRESET). */
export interface RawAnswer {
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: string;
  error?: string;
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** Headers of an MCP POST from outside the SDK; `key` adds the bearer key. */
export function mcpHeaders(key?: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    ...extra,
  };
}

/** A JSON-RPC message padded to exactly `bytes` bytes of JSON. */
export function paddedMessage(bytes: number, message: object = { jsonrpc: '2.0', id: 1, method: 'tools/list' }): Buffer {
  const bare = JSON.stringify({ ...message, pad: '' });
  return Buffer.from(JSON.stringify({ ...message, pad: 'x'.repeat(Math.max(0, bytes - bare.length)) }));
}

/**
 * A POST over node:http on a connection of its own, kept alive as a real client's would be (a
 * client that says `Connection: close` has its socket closed right after an early answer): with a
 * Content-Length, or `chunked` without one. Resolves with the answer or the socket error, whichever comes first.
 */
export function rawPost(url: URL, body: Buffer, headers: Record<string, string>, { chunked = false } = {}): Promise<RawAnswer> {
  const agent = new Agent({ keepAlive: true });
  return new Promise<RawAnswer>((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: chunked ? headers : { ...headers, 'content-length': String(body.length) } }, (res) => {
      collect(res).then(resolve, (error: Error) => resolve({ error: error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  }).finally(() => agent.destroy());
}

/**
 * A POST that declares `declared` bytes and sends only `sent` of them, then waits: an upload that
 * stalls (slow loris) until the test aborts it.
 */
export function stalledPost(url: URL, declared: number, sent: number, headers: Record<string, string>): ClientRequest {
  const req = request(url, { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(declared) } });
  req.on('error', () => undefined); // the test aborts it
  req.write(Buffer.alloc(sent, 0x20));
  return req;
}

/**
 * A chunked POST from a client that reads nothing before it has sent its whole body (as many HTTP
 * clients do): resolves with the answer's status line once sent, or rejects after `timeoutMs` —
 * e.g. when the server neither reads the rest nor closes.
 */
export function postWholeThenRead(url: URL, body: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms: the body was not taken`));
    }, timeoutMs);
    const head = Object.entries({ host: url.host, 'transfer-encoding': 'chunked', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`POST ${url.pathname} HTTP/1.1\r\n${head.join('')}\r\n`);
    socket.write(`${body.length.toString(16)}\r\n`);
    socket.write(body);
    socket.write('\r\n0\r\n\r\n', () => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (!text.includes('\r\n')) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(text.slice(0, text.indexOf('\r\n')));
      });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** An MCP session opened outside the SDK (initialize, then initialized): its id. */
export async function openRawSession(url: URL, key?: string): Promise<string> {
  const opened = await fetch(url, { method: 'POST', headers: mcpHeaders(key), body: JSON.stringify(initialize) });
  const id = opened.headers.get('mcp-session-id');
  await opened.arrayBuffer();
  if (!opened.ok || id === null) throw new Error(`initialize answered ${opened.status} without an Mcp-Session-Id`);
  const headers = mcpHeaders(key, { 'mcp-session-id': id, 'mcp-protocol-version': initialize.params.protocolVersion });
  const initialized = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await initialized.arrayBuffer();
  if (initialized.status !== 202) throw new Error(`notifications/initialized answered ${initialized.status}`);
  return id;
}

/** A `GET /mcp` event stream: its answer as soon as the headers arrive, what it received, and when it ended. */
export interface EventStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Milliseconds from sending the request to the answer's headers. */
  headersAfterMs: number;
  received(): string;
  ended: Promise<void>;
  close(): void;
}

export function openEventStream(url: URL, sessionId: string, key?: string): Promise<EventStream> {
  const sentAt = performance.now();
  return new Promise((resolve, reject) => {
    const headers = { accept: 'text/event-stream', 'mcp-session-id': sessionId, ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) };
    const req = request(url, { method: 'GET', agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      const ended = new Promise<void>((done) => res.once('close', () => done()));
      resolve({
        status: res.statusCode!,
        headers: res.headers,
        headersAfterMs: performance.now() - sentAt,
        received: () => text,
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resident memory of a process, from /proc: now, and the peak since start or since `resetPeak`. In MB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** Starts the process's peak (VmHWM) over from its current RSS (Linux: clear_refs 5). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

async function collect(res: IncomingMessage): Promise<RawAnswer> {
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res) body += chunk;
  return { status: res.statusCode, headers: res.headers, body };
}
