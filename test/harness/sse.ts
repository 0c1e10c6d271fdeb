import { request, type IncomingHttpHeaders } from 'node:http';
import { eventually } from './processes.js';

/** One dispatched Server-Sent Event. */
export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

/**
 * A Server-Sent Events client over node:http, parsing as browsers' EventSource does (id, event,
 * data, comments, the last event id kept across events and set by id-only blocks too) — without
 * reconnecting by itself: a test reconnects, with `lastEventId`, when it wants to.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  /** The id a reconnect would send as Last-Event-ID. */
  lastEventId = '';
  comments = 0;
  /** The answer's body where it is not an event stream (a refusal). */
  body = '';
  private buffer = '';
  private block = { event: '', data: [] as string[] };

  private constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly ended: Promise<void>,
    private readonly abort: () => void,
  ) {}

  static open(url: URL, { key, lastEventId }: { key?: string; lastEventId?: string } = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (key !== undefined) headers.authorization = `Bearer ${key}`;
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      const req = request(url, { method: 'GET', agent: false, headers }, (res) => {
        const ended = new Promise<void>((done) => res.once('close', () => done()));
        const client = new SseClient(res.statusCode!, res.headers, ended, () => req.destroy());
        res.setEncoding('utf8');
        const stream = res.headers['content-type']?.startsWith('text/event-stream');
        res.on('data', (chunk: string) => (stream ? client.feed(chunk) : (client.body += chunk)));
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The dispatched events of one type (e.g. `change`). */
  of(type: string): SseEvent[] {
    return this.events.filter((event) => event.event === type);
  }

  /** Waits until `count` events of `type` arrived; those events. */
  async waitFor(type: string, count: number, timeoutMs = 10_000): Promise<SseEvent[]> {
    return eventually(() => this.of(type).length >= count && this.of(type), timeoutMs, `${count} "${type}" event(s), got ${this.of(type).length}`);
  }

  close(): Promise<void> {
    this.abort();
    return this.ended;
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return void this.comments++;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.block.event = value;
    else if (field === 'data') this.block.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
  }

  private dispatch(): void {
    const { event, data } = this.block;
    this.block = { event: '', data: [] };
    if (data.length === 0) return;
    this.events.push({ id: this.lastEventId, event: event || 'message', data: data.join('\n') });
  }
}
